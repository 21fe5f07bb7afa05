"""Run the walking group from Python, with the scenario given as a dict (docs/interventions.md).

`python examples/plugin_walking_group/run_example.py` (Python puts the script's folder on the path, so
`import walking_group` finds the package beside it), or from anywhere once the plug-in is installed
(`pip install -e examples/plugin_walking_group`).
"""

import walking_group  # noqa: F401  (registers the type; an installed plug-in is found without it)

from neighsim import api
from neighsim.config import load_config
from neighsim.parameters import load_parameters

scenario = {
    "name": "walking_groups",
    "description": "Led walking groups for residents aged 65+ in the Core20",
    "interventions": [{
        "type": "walking_group",
        "targeting": "core20",
        "capacity": 3000,
        "effects": {"stop_annual": 0.3},          # a number is fixed in every draw
    }],
}
# a quick look: a 2% sample of Stoke-on-Trent over two years, four parameter draws
config = load_config(population={"local_authorities": ["Stoke-on-Trent"], "scale": 0.02}, time={"months": 24})
params = load_parameters(config.parameters_dir())
print(params.spec("walking_group.falls_rate_ratio"))   # the plug-in's parameters are merged

summary = api.run("out/walking_group", [scenario, "configs/scenarios/falls_pathway.yaml"],
                  replicates=4, psa=True, config=config)
print(api.select(summary, "walking_group_participants", scenario="walking_groups", period="2026-2028",
                 measure="value"))
print(api.headline(summary, period="2026-2028").T)
