"""The charts' geometry (app/web/charts.py): bars in proportion to their values, on a
scale that ends at a round number, inside the viewBox."""

from app.web.charts import HEIGHT, MARGIN_BOTTOM, MARGIN_TOP, WIDTH, grouped_columns, stacked_rows


def test_columns_stand_in_proportion_on_a_round_scale():
    chart = grouped_columns("Weekly", [("a", [(3, "s", "3"), (1, "c", "1")]),
                                       ("b", [(0, "s", "0"), (2, "c", "2")])])
    plot = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    assert [bar.height for bar in chart.bars] == [plot * 3 / 5, plot / 5, 0, plot * 2 / 5]
    assert [tick.label for tick in chart.y_ticks] == ["0", "2.5", "5"]
    assert all(bar.x >= 0 and bar.x + bar.width <= WIDTH for bar in chart.bars)
    assert all(bar.y + bar.height == HEIGHT - MARGIN_BOTTOM for bar in chart.bars)


def test_a_chart_of_nothing_draws_no_bar_and_keeps_a_scale():
    chart = grouped_columns("Empty", [("a", [(0, "s", "0")])])
    assert [bar.height for bar in chart.bars] == [0]
    assert chart.y_ticks[-1].label == "1"


def test_stacked_rows_put_their_parts_end_to_end_the_longest_full_width():
    chart = stacked_rows("Split", [("one", [(1, "w", "1"), (3, "k", "3")]),
                                   ("two", [(2, "w", "2"), (0, "k", "0")])], scale_label="s")
    one_wait, one_work, two_wait, _two_work = chart.bars
    assert one_work.x == one_wait.x + one_wait.width
    assert one_wait.width + one_work.width == WIDTH - 16
    assert two_wait.width == (WIDTH - 16) / 2
    assert [tick.label for tick in chart.y_ticks] == ["one", "two"]


def test_the_last_week_s_label_fits_inside_the_chart():
    # A 12-unit label is about 6.5 units a character; centred on its column, half of it
    # stands to the right of the column's middle (it was cut off at "30 No").
    weeks = [(f"{day} Nov", [(1, "s", "1")]) for day in range(1, 14)]
    chart = grouped_columns("Weekly", weeks)
    last = chart.x_ticks[-1]
    assert last.position + len(last.label) * 6.5 / 2 <= WIDTH
