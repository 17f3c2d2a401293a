# Developer shortcuts; CI runs .ci/run.
.PHONY: test check package demo bench

test:
	go test -race -shuffle=on ./...

# check: formatting (gofmt -l must print nothing), vet, staticcheck, module checksums, the tests.
check:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$unformatted" ]; then echo "gofmt -l:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	go mod verify
	$(MAKE) test

# package: build every function for SCF (dist/<name>/main and dist/<name>.zip).
package:
	go run ./cmd/pack

demo:
	go run ./cmd/tcusage demo

# bench: the performance measurements of docs/performance.md (on demand; not part of CI's tests).
bench:
	go test -run '^$$' -bench . -benchmem ./shared/usage/ ./shared/tcloud/ ./shared/source/
	go run ./cmd/bench all
