"""The Donations page over the small money lake (tests/lakefixture_money.py): its totals
leave unsettled missions out, and the missions tab lists the pending ones apart with the
gifted subscriptions."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data
from dashboard.i18n import t
from tests.lakefixture_money import WANT, A, build_money_lake
from tests.section_tabs import open_section

pytestmark = pytest.mark.e2e
APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py")
DAY = date(2026, 9, 10)


@pytest.fixture(scope="module")
def money_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("money_page") / "lake"
    build_money_lake(str(root))
    return root


def _donations_page(root, monkeypatch) -> AppTest:
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run(timeout=60)
    at.date_input(key="f_dates").set_value((DAY, DAY)).run(timeout=60)
    at.switch_page("app_pages/donations.py").run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_donations_page_counts_settled_money_and_shows_pending_missions_apart(money_root, monkeypatch):
    at = _donations_page(money_root, monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("don_count")] == f"{sum(n for n, _ in WANT['donations'].values()):,}"
    assert metrics[t("don_amount")] == f"{sum(a for _, a in WANT['donations'].values()):,}"

    open_section(at, "don_section", t("don_missions"))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("don_pending_count")] == "2" and metrics[t("don_pending_amount")] == "14,000"
    assert metrics[t("don_gifted_subs")] == f"{sum(s for _, s in WANT['gifts'].values()):,}"
    (pending,) = [d.value for d in at.dataframe if "mission_id" in d.value.columns]
    assert list(pending["mission_id"]) == ["m-unknown", "m-pending"]
    assert set(pending["channel_id"]) == {A} and list(pending["mission"])[1] == "춤 춰주세요"
    assert len(at.get("download_button")) == 2 * len(at.dataframe)


def test_pending_missions_show_when_nothing_counts_yet(tmp_path, monkeypatch):
    root = tmp_path / "lake"
    build_money_lake(str(root), keep=lambda r: r["mission_id"] == "m-pending")
    at = _donations_page(root, monkeypatch)
    assert t("don_none") in [i.value for i in at.info]
    (pending,) = [d.value for d in at.dataframe if "mission_id" in d.value.columns]
    assert list(pending["mission_id"]) == ["m-pending"]
