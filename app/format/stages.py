"""Which steps a request needs, from its service's definition and its answers alone."""

from app.format.condition_words import skip_reason_words, step_condition_words
from app.format.conditions import evaluate
from app.format.definitions import ServiceDefinition


def step_is_needed(definition: ServiceDefinition, position: int, answers: dict) -> bool:  # type: ignore[type-arg]
    condition = definition.condition_of(position)
    return condition is None or evaluate(condition, answers)


def skip_reason(definition: ServiceDefinition, position: int) -> str:
    """Why a step is not needed, in the form's words (recorded on the timeline)."""
    return skip_reason_words(step_condition_words(definition, position) or "")
