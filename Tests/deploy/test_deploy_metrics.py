"""The operator guide's metrics and alerts name metrics the services really export, and it lists
every metric they export. Metric names are read from the Swift code at run time."""

from herald_deploy import DEPLOY_README, METRIC_NAME, code_metrics, metric_base


def test_code_metrics_are_found():
    metrics = code_metrics()
    for family in ("herald_gateway_", "herald_worker_", "herald_relay_"):
        assert any(m.startswith(family) for m in metrics), f"no {family}* metric found in the code: {sorted(metrics)}"


def test_every_metric_the_guide_names_exists():
    metrics = code_metrics()
    named = {metric_base(m) for m in METRIC_NAME.findall(DEPLOY_README.read_text(encoding="utf-8"))}
    unknown = sorted(n for n in named if n not in metrics)
    assert not unknown, f"deploy/README.md names metrics no service registers: {unknown}"


def test_the_guide_lists_every_metric():
    text = DEPLOY_README.read_text(encoding="utf-8")
    missing = sorted(m for m in code_metrics() if f"`{m}`" not in text)
    assert not missing, f"deploy/README.md's metrics table lacks {missing}"
