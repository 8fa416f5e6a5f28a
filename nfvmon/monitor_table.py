"""The README's table of monitors and their default parameters, from the declarations.

`python -m nfvmon.monitor_table` prints it; a test keeps README.md's copy the same, so the
table cannot drift from what the generator fills in.
"""

from __future__ import annotations

from collections.abc import Mapping

from nfvmon import defaults
from nfvmon.probes import registry


def parameter_table(vim_defaults: Mapping[str, object] = defaults.VIM_MONITOR_DEFAULTS) -> str:
    """One row per installed probe type plus the VIM's; `—`: the monitor has no such
    parameter, `(optional)`: it has one without a default."""
    columns = list(registry.parameters())
    lines = ["| monitor | " + " | ".join(columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for name, probe in registry.installed_probes().items():
        declared = {p.name: p.default for p in probe.parameters}
        cells = [_cell(declared[c]) if c in declared else "—" for c in columns]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    cells = [_cell(vim_defaults[c]) if c in vim_defaults else "—" for c in columns]
    lines.append("| VIM (`monitor:` block) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return "(optional)"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


if __name__ == "__main__":
    print(parameter_table(), end="")
