"""View stages: small immutable values that compile to aggregation-pipeline fragments."""

from labellens.stages.base import CompileContext, Stage
from labellens.stages.computed import SetField
from labellens.stages.filtering import Exclude, Exists, Match, MatchTags, Select, SelectBy
from labellens.stages.label_matching import FilterField, LimitLabels, MatchLabels
from labellens.stages.label_selection import ExcludeLabels, SelectLabels
from labellens.stages.ordering import Limit, Shuffle, Skip, SortBy, Take
from labellens.stages.projection import ExcludeFields, FilterLabels, SelectFields
from labellens.stages.raw import Mongo
from labellens.stages.registry import STAGES, Concat, stage_from_json, stage_to_json, stages_from_json
from labellens.stages.sharding import Shard

__all__ = ["STAGES", "CompileContext", "Concat", "Exclude", "ExcludeFields", "ExcludeLabels", "Exists",
           "FilterField",
           "FilterLabels", "Limit", "LimitLabels", "Match", "MatchLabels", "MatchTags", "Mongo", "Select",
           "SelectBy", "SelectFields", "SelectLabels", "SetField", "Shard", "Shuffle", "Skip", "SortBy",
           "Stage", "Take", "stage_from_json", "stage_to_json", "stages_from_json"]
