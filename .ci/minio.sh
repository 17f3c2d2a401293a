#!/usr/bin/env bash
# MinIO for the integration tier of the snapshot store tests (shared/snapshot/...).
#
#   source .ci/minio.sh start   build MinIO into .tools/bin if needed, start it on loopback,
#                               create the test bucket, export TCUSAGE_TEST_MINIO_* for go test
#   .ci/minio.sh stop           stop the MinIO started by "start" (by its recorded PID)
#
# MinIO is AGPLv3 and is run as an external tool only: it is never added to go.mod.
# Plain `go test ./...` does not need it; the tests skip the MinIO tier when
# TCUSAGE_TEST_MINIO_ENDPOINT is unset.

MINIO_MODULE_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"

_minio_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd); }

minio_start() {
	local root bin dir addr user pass bucket i
	root=$(_minio_root)
	bin="$root/.tools/bin/minio"
	dir="$root/.tools/minio"
	addr="127.0.0.1:${TCUSAGE_MINIO_PORT:-19000}"
	user="tcusage-ci"
	pass=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	bucket="tcusage-1250000000"

	# Build once; a warm rebuild is skipped entirely via the version stamp.
	if [ ! -x "$bin" ] || [ "$(cat "$bin.version" 2>/dev/null)" != "$MINIO_MODULE_VERSION" ]; then
		echo "minio: building github.com/minio/minio@$MINIO_MODULE_VERSION (cold build takes a few minutes)"
		GOBIN="$root/.tools/bin" go install "github.com/minio/minio@$MINIO_MODULE_VERSION" || return 1
		echo "$MINIO_MODULE_VERSION" >"$bin.version"
	fi

	minio_stop >/dev/null 2>&1 || true
	rm -rf "$dir/data"
	mkdir -p "$dir/data"
	MINIO_ROOT_USER="$user" MINIO_ROOT_PASSWORD="$pass" \
		MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off MINIO_CI_CD=1 \
		"$bin" server "$dir/data" --address "$addr" --quiet >"$dir/minio.log" 2>&1 &
	echo $! >"$dir/minio.pid"

	for i in $(seq 1 300); do
		if curl -fsS -o /dev/null "http://$addr/minio/health/live" 2>/dev/null; then
			break
		fi
		if ! kill -0 "$(cat "$dir/minio.pid")" 2>/dev/null; then
			echo "minio: exited early; log follows" >&2
			cat "$dir/minio.log" >&2
			return 1
		fi
		sleep 0.1
	done
	if ! curl -fsS -o /dev/null "http://$addr/minio/health/live"; then
		echo "minio: not live on $addr after 30 s" >&2
		return 1
	fi

	if ! curl -fsS -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$user:$pass" \
		-X PUT "http://$addr/$bucket"; then
		echo "minio: cannot create bucket $bucket" >&2
		return 1
	fi

	export TCUSAGE_TEST_MINIO_ENDPOINT="http://$addr"
	export TCUSAGE_TEST_MINIO_ACCESS_KEY="$user"
	export TCUSAGE_TEST_MINIO_SECRET_KEY="$pass"
	export TCUSAGE_TEST_MINIO_BUCKET="$bucket"
	echo "minio: live on $addr (pid $(cat "$dir/minio.pid")), bucket $bucket"
}

minio_stop() {
	local dir pid
	dir="$(_minio_root)/.tools/minio"
	[ -f "$dir/minio.pid" ] || return 0
	pid=$(cat "$dir/minio.pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$dir/minio.pid"
	unset TCUSAGE_TEST_MINIO_ENDPOINT TCUSAGE_TEST_MINIO_ACCESS_KEY TCUSAGE_TEST_MINIO_SECRET_KEY TCUSAGE_TEST_MINIO_BUCKET
}

case "${1:-}" in
start) minio_start ;;
stop) minio_stop ;;
*) echo "usage: source .ci/minio.sh start | .ci/minio.sh stop" >&2; false ;;
esac
