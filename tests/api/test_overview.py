"""/api/v1/overview: a manager's figures of all open work (the overview page's); anyone
else is refused (tests/api/test_matrix.py)."""

from tests.api.conftest import Api, World


def test_a_manager_reads_the_overview_figures_the_page_shows(api: Api, world: World):
    figures = api.get("/overview", world.tokens["manager"]).json()
    it = next(line for line in figures["by_team"] if line["team_slug"] == "it")
    # IT has the laptop's task and the purchase's approval, both open and unclaimed.
    assert (it["open"], it["claimed"], it["unclaimed"]) == (2, 0, 2)
    steps = {(line["service_slug"], line["position"]) for line in figures["by_step"]}
    assert {("laptop", 0), ("purchase", 0)} <= steps
