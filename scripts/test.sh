#!/usr/bin/env bash
# The project's test command: installs test dependencies, builds, runs every test project,
# and prints one summary line "tests: N passed, N failed, N skipped".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bash scripts/install-test-deps.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
results="$root/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"

dotnet build ControlPlane.sln -c Release -nologo -v q "$@"

status=0
# One test assembly at a time: several start real processes (redis-server, nodes) and lease timing
# should not compete with a neighbour assembly for the 2 cores.
dotnet test ControlPlane.sln -c Release --no-build -nologo -v q -m:1 \
  --logger "trx" --results-directory "$results" --blame-hang-timeout 5m "$@" || status=$?

# One closing line over all projects, read from the TRX files.
python_sum() {
  /usr/bin/python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
p = f = s = 0
for path in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    c = ET.parse(path).getroot().find("t:ResultSummary/t:Counters", ns)
    if c is None: continue
    p += int(c.get("passed", 0)); f += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0))
    s += int(c.get("notExecuted", 0))
    for u in ET.parse(path).getroot().iter("{%s}UnitTestResult" % ns["t"]):
        if u.get("outcome") == "Failed":
            m = u.find(".//t:Message", ns)
            print("FAILED", u.get("testName"), "--", ((m.text if m is not None else "") or "").strip().splitlines()[:1])
print(f"tests: {p} passed, {f} failed, {s} skipped")
if p == 0: sys.exit(1)
PY
}
python_sum || status=1
exit $status
