#!/usr/bin/env bash
# Installs what the project needs and is missing; reuses whatever is already there.
#   scripts/provision.sh python   -> .venv with the project and its dev tools (uv, cached wheels)
#   scripts/provision.sh redis    -> Debian's redis-server
#   scripts/provision.sh ferretdb -> FerretDB v1.24.2 built from the Go module proxy
#   scripts/provision.sh ffmpeg   -> Debian's ffmpeg (feeds the RTSP test server)
#   scripts/provision.sh rtsp     -> an RTSP server for the camera tests
#   scripts/provision.sh web      -> npm packages, the offline GraphiQL assets and the web app build
#   scripts/provision.sh chromium -> Debian's chromium and Korean fonts (browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${BRIEFING_TOOLS_DIR:-$HOME/.cache/bangguseok/bin}"
mkdir -p "$TOOLS"

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

python_env() {
  command -v uv >/dev/null 2>&1 || python3 -m pip install -q --user uv
  command -v uv >/dev/null 2>&1 || export PATH="$HOME/.local/bin:$PATH"
  local stamp=.venv/.provisioned
  if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then return 0; fi
  [ -x .venv/bin/python ] || uv venv -q --python 3.11 .venv
  VIRTUAL_ENV=.venv uv pip install -q -e '.[dev]'
  touch "$stamp"
}

FERRETDB_BUILD=v1.24.2+id-index+id-in+id-and  # bump when the patches below change: an older binary is rebuilt

ferretdb() {
  if [ -x "$TOOLS/ferretdb" ] && [ "$(cat "$TOOLS/ferretdb.build" 2>/dev/null)" = "$FERRETDB_BUILD" ]; then return 0; fi
  # `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` builds a binary that panics at start:
  # the module has no build/version/version.txt (it is generated in FerretDB's own repo). Build the
  # same module from the Go module proxy with that one file written.
  local src tmp
  src=$(cd /tmp && go mod download -json github.com/FerretDB/FerretDB@v1.24.2 | python3 -c "import json,sys; print(json.load(sys.stdin)['Dir'])")
  tmp=$(mktemp -d)
  cp -r "$src" "$tmp/ferretdb" && chmod -R u+w "$tmp/ferretdb"
  echo v1.24.2 > "$tmp/ferretdb/build/version/version.txt"
  # Filters on _id read `_ferretdb_sjson->'$._id'` while the _id index is built on
  # `_ferretdb_sjson->"_id"`: SQLite matches index expressions by their text, so every lookup by _id
  # scanned the whole table (EXPLAIN QUERY PLAN: SCAN; 42 ms at 10 000 documents). Same value, the
  # index's spelling.
  python3 - "$tmp/ferretdb/internal/backends/sqlite/metadata/metadata.go" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
old = "IDColumn = DefaultColumn + \"->'$._id'\""
new = "IDColumn = DefaultColumn + `->\"_id\"`"
assert old in text, "FerretDB source changed: review the _id index patch"
open(path, "w").write(text.replace(old, new))
EOF
  # Only `{_id: <string or ObjectId>}` reaches SQLite as a WHERE clause; `{_id: {$in: [...]}}` (how
  # replays read a request's briefings by their `<request>:<seq>` keys) scanned the table. Push it
  # down as `WHERE id IN (...)` through the _id index; the handler filters every row again, so the
  # pushdown only narrows what is read.
  python3 - "$tmp/ferretdb/internal/backends/sqlite/collection.go" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
old = """		case string, types.ObjectID:
			whereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}"""
new = """		case string, types.ObjectID:
			whereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		case *types.Document:
			whereClause, args = idInClause(v.(*types.Document))
		}"""
assert text.count(old) == 1, "FerretDB source changed: review the _id $in patch"
text = text.replace(old, new)
text += """
// idInClause pushes `{_id: {$in: [strings or ObjectIDs]}}` down as an IN over the _id index.
func idInClause(d *types.Document) (string, []any) {
	if d.Len() != 1 {
		return "", nil
	}
	in, err := d.Get("$in")
	if err != nil {
		return "", nil
	}
	arr, ok := in.(*types.Array)
	if !ok || arr.Len() == 0 || arr.Len() > 1000 {
		return "", nil
	}
	placeholders := make([]string, arr.Len())
	args := make([]any, arr.Len())
	for i := 0; i < arr.Len(); i++ {
		e := must.NotFail(arr.Get(i))
		switch e.(type) {
		case string, types.ObjectID:
		default:
			return "", nil
		}
		placeholders[i] = "?"
		args[i] = string(must.NotFail(sjson.MarshalSingleValue(e)))
	}
	return fmt.Sprintf(` WHERE %s IN (%s)`, metadata.IDColumn, strings.Join(placeholders, ", ")), args
}
"""
open(path, "w").write(text)
EOF
  # A filter with `_id` and other fields (`{_id, status}`: ending a request only if it still runs)
  # was not pushed down at all: every such update scanned the collection (3000 requests: 100-120 ms
  # a write, 1.5 ms by `_id` alone), holding SQLite's one write lock meanwhile. Push the `_id` part
  # down whatever else the filter holds; the handler checks the whole filter on each row it reads.
  python3 - "$tmp/ferretdb/internal/backends/sqlite/collection.go" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
old = """	if params.Filter.Len() == 1 {
		v, _ := params.Filter.Get("_id")"""
new = """	if params.Filter.Len() >= 1 {
		v, _ := params.Filter.Get("_id")"""
assert text.count(old) >= 1, "FerretDB source changed: review the _id-with-other-fields patch"
open(path, "w").write(text.replace(old, new))
EOF
  (cd "$tmp/ferretdb" && go build -o "$TOOLS/ferretdb" ./cmd/ferretdb)
  echo "$FERRETDB_BUILD" > "$TOOLS/ferretdb.build"
  rm -rf "$tmp"
}

rtsp_server() {
  # A real RTSP server for the camera tests: MediaMTX built from the Go module proxy. `go install
  # ...@latest` cannot list versions through this proxy, and the module needs two generated files
  # (a version and the embedded hls.js, which the HLS server we do not use would serve).
  command -v mediamtx >/dev/null 2>&1 && return 0
  [ -x "$TOOLS/mediamtx" ] && return 0
  local version=v1.12.3 src tmp
  src=$(cd /tmp && go mod download -json "github.com/bluenviron/mediamtx@$version" | python3 -c "import json,sys; print(json.load(sys.stdin)['Dir'])")
  tmp=$(mktemp -d)
  cp -r "$src" "$tmp/mediamtx" && chmod -R u+w "$tmp/mediamtx"
  echo "$version" > "$tmp/mediamtx/internal/core/VERSION"
  touch "$tmp/mediamtx/internal/servers/hls/hls.min.js"
  (cd "$tmp/mediamtx" && go build -o "$TOOLS/mediamtx" .)
  rm -rf "$tmp"
}

web() {
  command -v node >/dev/null 2>&1 || apt_install nodejs npm
  local stamp=web/node_modules/.provisioned
  if [ ! -f "$stamp" ] || [ web/package-lock.json -nt "$stamp" ]; then
    npm ci --prefix web --no-audit --no-fund --loglevel=error
    touch "$stamp"
  fi
  node web/copy-assets.mjs >/dev/null
  # The owner's web app (web/app, served at /): type-checked and built by Vite into server/static/app,
  # again only when a source, the lock file, the build config or the possibleTypes is newer than the build.
  # Its GraphQL types (web/app/src/generated) are committed: `npm run codegen --prefix web` refreshes them.
  local built=server/static/app/index.html
  if [ ! -f "$built" ] || [ -n "$(find web/app web/package-lock.json web/package.json web/vite.config.ts \
      web/tsconfig.json web/possible-types.json -newer "$built" -print -quit 2>/dev/null)" ]; then
    npm run build --prefix web --silent >/dev/null
  fi
}

chromium_browser() {
  # Debian's Chromium for the browser tests (Playwright drives it; no browser download), with Nanum
  # fonts so Korean renders in screenshots.
  if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi nanum; then return 0; fi
  apt_install chromium fonts-nanum
}

for what in "$@"; do
  case "$what" in
    python) python_env ;;
    redis) command -v redis-server >/dev/null 2>&1 || apt_install redis-server ;;
    ferretdb) ferretdb ;;
    ffmpeg) command -v ffmpeg >/dev/null 2>&1 || apt_install ffmpeg ;;
    web) web ;;
    rtsp) rtsp_server ;;
    chromium) chromium_browser ;;
    *) echo "provision: unknown target $what" >&2; exit 2 ;;
  esac
done
