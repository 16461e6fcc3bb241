#!/usr/bin/env bash
# Forced-breaker propagation between two federated regions on loopback (docs/regions.md, "Tests and figures"):
# 2 regions x 2 controlplane processes, each region on its own redis-server, the federation link through a TCP proxy.
# Prints p50/p99 of "forced open/auto in us-east until both eu-west nodes' Route obeys" (goal: p99 <= 250 ms).
# Usage: bench/federation-propagation.sh [FLIPS]   (default 100; needs redis-server on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
flips="${1:-100}"
dotnet build bench/ControlPlane.Cluster.Benchmarks -c Release -nologo -v q
exec dotnet bench/ControlPlane.Cluster.Benchmarks/bin/Release/net10.0/ControlPlane.Cluster.Benchmarks.dll --federation --flips "$flips"
