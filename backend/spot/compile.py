"""Compile the Solidity sources in contracts/ with solc-js (npm `solc`, offline) into contracts/build/*.json.

Run `python -m backend.spot.compile` (or `make contracts`) after changing a .sol file and commit the build:
production loads the committed ABI and bytecode and needs no node. `--check` compares instead of writing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from typing import Any

from backend.config import PROJECT_ROOT
from backend.spot.artifacts import BUILD_DIR, CONTRACTS_DIR, MOCK_ERC20, MOCK_SWAP_ROUTER, MODULE

SOLC_JS = PROJECT_ROOT / "tools" / "node_modules" / "solc"
# The contracts whose artifacts are written; interfaces declared beside them are not.
CONTRACTS = (MODULE, MOCK_ERC20, MOCK_SWAP_ROUTER)

# solc-js's standard JSON entry point: input on stdin, output on stdout.
_NODE_PROGRAM = (
    "const solc = require(process.argv[1]);"
    "let input = '';"
    "process.stdin.on('data', (c) => { input += c; });"
    "process.stdin.on('end', () => { process.stdout.write(solc.compile(input)); });"
)


class CompileError(RuntimeError):
    pass


def node_available() -> bool:
    return shutil.which("node") is not None and SOLC_JS.is_dir()


def standard_input() -> dict[str, Any]:
    sources = {p.name: {"content": p.read_text()} for p in sorted(CONTRACTS_DIR.glob("*.sol"))}
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }


def compile_contracts() -> dict[str, dict[str, Any]]:
    """{name: {"abi": [...], "bytecode": "0x..."}} for each of CONTRACTS."""
    if not node_available():
        raise CompileError(f"needs node and solc-js in {SOLC_JS} (make bootstrap)")
    done = subprocess.run(
        ["node", "-e", _NODE_PROGRAM, str(SOLC_JS)],
        input=json.dumps(standard_input()),
        capture_output=True,
        text=True,
        check=True,
    )
    output = json.loads(done.stdout)
    problems = output.get("errors", [])
    for warning in (e for e in problems if e["severity"] != "error"):
        print(warning["formattedMessage"], file=sys.stderr)
    errors = [e for e in problems if e["severity"] == "error"]
    if errors:
        raise CompileError("\n".join(e["formattedMessage"] for e in errors))
    compiled = {name: out for unit in output["contracts"].values() for name, out in unit.items()}
    return {
        name: {"abi": compiled[name]["abi"], "bytecode": "0x" + compiled[name]["evm"]["bytecode"]["object"]}
        for name in CONTRACTS
    }


def render(artifact: dict[str, Any]) -> str:
    """The committed form: sorted keys, so a recompile of unchanged sources changes no byte."""
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed build is stale")
    args = parser.parse_args(argv)
    artifacts = compile_contracts()
    stale = []
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    for name, artifact in artifacts.items():
        path = BUILD_DIR / f"{name}.json"
        text = render(artifact)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale artifacts (run make contracts): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
