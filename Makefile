# Developer shortcuts; CI runs .ci/run.
.PHONY: test check package demo bench screenshots

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
	go test -run '^$$' -bench . -benchmem ./shared/usage/ ./shared/tcloud/ ./shared/source/ ./shared/report/
	go run ./cmd/bench all

# screenshots: the daily report in a real browser (Debian's chromium, installed by .ci/chromium.sh)
# at 375 px and 1280 px, written to docs/img/report-375.png and docs/img/report-1280.png. It runs
# the demo for the last 14 days (Beijing time) into .tools/screenshot-store, then the browser test
# on that store, which also checks the page's figures, console and network.
SCREENSHOT_STORE := $(CURDIR)/.tools/screenshot-store
screenshots:
	.ci/chromium.sh
	rm -rf $(SCREENSHOT_STORE)
	go build -o .tools/tcusage ./cmd/tcusage
	for n in $$(seq 14 -1 1); do \
	  .tools/tcusage demo --date "$$(TZ=Asia/Shanghai date -d "-$$n day" +%F)" --out $(SCREENSHOT_STORE) >/dev/null || exit 1; \
	done
	TCUSAGE_REPORT_STORE=$(SCREENSHOT_STORE) TCUSAGE_SCREENSHOTS=$(CURDIR)/docs/img \
	  go test -count=1 -run '^TestReportInChromium$$' -v ./shared/report/
