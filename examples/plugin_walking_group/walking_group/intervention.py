"""The walking_group intervention type: led walks for residents aged 65+, fewer falls while they walk."""

import numpy as np

from neighsim.interventions import Effect, Intervention, Option, register


@register("walking_group")
class WalkingGroup(Intervention):
    description = "led walking groups for residents aged 65+: fewer falls while they keep walking"
    default_rule = "age >= 65 and frailty <= mild"
    uptake_param = "walking_group.uptake"                      # parameters/walking_group.yaml
    effects_spec = {
        "falls_rate_ratio": Effect("walking_group.falls_rate_ratio", "ratio", "falls rate ratio of a walker"),
        "stop_annual": Effect("walking_group.stop_annual", "probability", "walkers who stop in a year"),
    }
    cost_spec = {"per_participant": "walking_group.cost_per_participant"}
    options_spec = {"reoffer_months": Option(12, int, "months before a resident who declined is asked again")}

    def setup(self, model):                                    # once: fields, modifiers
        c = model.cohort
        c.add_field(f"{self.name}_on", np.bool_, False)        # walking now
        c.add_field(f"{self.name}_waiting", np.bool_, False)   # accepted, waiting for a place
        c.add_field(f"{self.name}_asked", np.int16, -32000)    # month of the last offer
        rr = self.effect("falls_rate_ratio")
        self.add_modifier(model, "falls.rate",
                          lambda m, rows: 1.0 + (rr - 1.0) * m.cohort[f"{self.name}_on"][rows],
                          upper_bound=max(1.0, rr))

    def on_begin(self, model):                                 # every month, before the processes
        c, t = model.cohort, model.t
        on, waiting, asked = c[f"{self.name}_on"], c[f"{self.name}_waiting"], c[f"{self.name}_asked"]
        walkers = np.flatnonzero(on & c.alive)                 # some walkers stop each month
        stop = self.draw(model, "stop", c.id[walkers]) < 1.0 - (1.0 - self.effect("stop_annual")) ** (1 / 12)
        on[walkers[stop]] = False
        if not self.active(t):
            return
        wait = self.options["reoffer_months"]                  # never asked: -32000, long ago
        rows = np.flatnonzero(c.alive & ~on & ~waiting & (t - asked.astype(np.int32) >= wait))
        offered = self.reached(model, self.eligible(model, rows))    # targeting, rule, coverage ramp
        asked[offered] = t
        waiting[self.accepts(model, offered)] = True                  # uptake (deprivation gradient)
        served = self.allocate(model, np.flatnonzero(waiting & c.alive))  # capacity and allocation
        waiting[served], on[served] = False, True
        self.record(model, "offered", offered)
        self.record(model, "participants", served)
        self.charge(model, served, self.costs["per_participant"])
