"""Example neighsim plug-in: led walking groups for residents aged 65+ (docs/interventions.md).

Importing the package registers the intervention type `walking_group`; an installed copy is found
through its entry point without an import. Its parameters are in parameters/walking_group.yaml.
"""

from .intervention import WalkingGroup

__all__ = ["WalkingGroup"]
