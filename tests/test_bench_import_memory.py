"""bench/import_memory.py charges each module what its own import added, its imports'
excluded: the charges add up to what importing app.main added in all."""

from bench.import_memory import measure, package_of


def test_the_modules_charges_add_up_to_the_whole_import():
    found = measure()
    own: dict[str, float] = found["own"]  # type: ignore[assignment]
    added = found["after"] - found["before"]  # type: ignore[operator]

    assert "app.main" in own and "app.storage.models" in own
    assert added > 0 and abs(sum(own.values()) - added) < 0.01


def test_a_module_is_summed_under_its_package():
    assert package_of("app.web.routes.queues") == "app.web"
    assert package_of("app.main") == "app.main"
    assert package_of("sqlalchemy.dialects.sqlite.base") == "sqlalchemy"
