"""Sign-in, place scoping and the audit trail, end to end in Chromium.

One dashboard server for the module, started as ``make run`` starts it (``serve.py``),
with sign-in against a mock OpenID Connect provider on loopback (``tests/oidc_fixture.py``)
and a copy of the bundled demo data holding the access file and the audit trail. Three
people sign in through the provider's own page, each in a browser context of their own:

- Nadia, national, with exact figures and downloads;
- Sam, scoped to the Women's Estate prison group, with downloads;
- Una, signed in but in no entry of the access file.

Skipped when Chromium is absent, unless ``EQUALITY_MONITOR_REQUIRE_BROWSER=1`` (set in CI),
in which case a missing browser (or a missing mock provider) is a failure.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.oidc_fixture import (
    Person,
    copy_demo_data,
    dashboard,
    free_port,
    mock_provider,
    server_environment,
    write_secrets,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("EQUALITY_MONITOR_REQUIRE_BROWSER") == "1"

NATIONAL = Person("nadia-sub", "Nadia.National@Example.org", "Nadia National")
SCOPED = Person("sam-sub", "sam.scoped@example.org", "Sam Scoped", ("grp-unused",))
UNMAPPED = Person("una-sub", "una.unmapped@example.org", "Una Unmapped")
#: The scoped user's prison group, and one establishment in another group.
REGION = "Women's Estate"
OUTSIDE = "COL"

NO_PLACE = "not a place you can choose"
SIGN_IN_HEADING = "Sign in to the Equality Monitor"
EXACT_MARKING = "OFFICIAL-SENSITIVE: exact figures"


@dataclass(frozen=True)
class Stack:
    url: str
    data: Path
    env: dict[str, str]
    establishments: pd.DataFrame

    def label(self, code: str) -> str:
        """An establishment as the filter shows it (and the address holds it)."""
        name = self.establishments.set_index("code").loc[code, "name"]
        return f"{name} ({code})"

    def outside_region(self) -> pd.DataFrame:
        return self.establishments[self.establishments["region"] != REGION]


def _access_file(national: Person, scoped: Person) -> str:
    # Keys as the contract says: the email claim, lower-cased (Nadia's token has capitals).
    return f"""[settings]
session_hours = 10
groups_claim = "groups"

[users."{national.email.lower()}"]
places = ["England and Wales"]
permissions = ["exact_figures", "download", "validation_details"]

[users."{scoped.email.lower()}"]
places = ["region:{REGION}"]
permissions = ["download"]
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if CHROMIUM is None:
        if REQUIRED:
            pytest.fail("Chromium is required (EQUALITY_MONITOR_REQUIRE_BROWSER=1) but not found")
        pytest.skip("Chromium is not installed")
    for module in ("playwright", "oidc_provider_mock", "authlib"):
        if importlib.util.find_spec(module) is None:
            if REQUIRED:
                pytest.fail(f"{module} is required for the sign-in test but not installed")
            pytest.skip(f"{module} is not installed")
    folder = tmp_path_factory.mktemp("sign-in")
    data = copy_demo_data(folder / "data")
    (data / "access.toml").write_text(_access_file(NATIONAL, SCOPED), encoding="utf-8")
    establishments = pd.read_parquet(data / "validated" / "establishments.parquet")
    assert {OUTSIDE} < set(establishments["code"]) and REGION in set(establishments["region"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with mock_provider([NATIONAL, SCOPED, UNMAPPED], folder) as issuer:
        secrets_file = write_secrets(folder / "secrets.toml", app_url=url, issuer=issuer)
        env = server_environment(data, secrets_file)
        with dashboard(port, env, folder) as served:
            yield Stack(served, data, env, establishments)


@pytest.fixture(scope="module")
def browser(stack: Stack):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        yield launched
        launched.close()


def _context(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    # The provider's pages link a stylesheet from a CDN; there is no internet here.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    return context


def _settled(page, within: int = 90_000) -> None:
    """Wait until the page's script run has finished (so what is absent is really absent)."""
    page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for(timeout=within)


def _sign_in(browser, stack: Stack, person: Person):
    """A page signed in as ``person`` through the provider's authorization page."""
    page = _context(browser).new_page()
    page.goto(f"{stack.url}/", wait_until="domcontentloaded")
    page.get_by_role("heading", name=SIGN_IN_HEADING).wait_for(timeout=90_000)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/oauth2/authorize\?"), timeout=30_000)
    page.get_by_role("button", name=person.sub, exact=True).click()
    page.wait_for_url(f"{stack.url}/**", timeout=30_000)
    # Signed in (with access or not): the sign-out button shows before the page is done.
    page.get_by_role("button", name="Sign out").wait_for(timeout=60_000)
    return page


def _open(page, stack: Stack, path: str, **query: str) -> str:
    """Open a page (with an address query), wait until it has run; the page's text."""
    address = f"{stack.url}/{path}"
    if query:
        address += "?" + urllib.parse.urlencode(query)
    page.goto(address, wait_until="domcontentloaded")
    _settled(page)
    return page.inner_text("body")


def _options(page, label: str) -> list[str]:
    """Every option a select box offers (opened, not searched)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.get_by_role("combobox", name=label, exact=True)
    options = page.get_by_role("listbox").get_by_role("option")
    for attempt in range(5):
        # A click landing while the widget redraws opens nothing, and a click on a box
        # that already has the focus can leave it shut: from the second attempt the
        # focused box is also opened from the keyboard, as a user would.
        box.click()
        if attempt:
            box.press("ArrowDown")
        try:
            options.first.wait_for(timeout=3_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    found = options.all_inner_texts()
    page.keyboard.press("Escape")
    assert found, f"the {label} select box would not open"
    return found


def _warnings(page) -> list[str]:
    return page.locator("[data-testid=stAlert]").all_inner_texts()


@pytest.fixture(scope="module")
def national(browser, stack: Stack):
    page = _sign_in(browser, stack, NATIONAL)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def scoped(browser, stack: Stack):
    page = _sign_in(browser, stack, SCOPED)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def unmapped(browser, stack: Stack):
    page = _sign_in(browser, stack, UNMAPPED)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def scoped_downloads(scoped, stack: Stack) -> list[tuple[str, bytes]]:
    """Every table of objective 2 that Sam can download as CSV, as (file name, bytes)."""
    from playwright.sync_api import expect

    _open(scoped, stack, "offenders")
    summaries = scoped.locator(
        "[data-testid=stExpander] summary", has_text="Table view and downloads"
    )
    assert summaries.count() >= 1, "objective 2 has no table view to download from"
    buttons = scoped.get_by_role("button", name="Download this table (CSV)")
    for i in range(summaries.count()):
        # A table view is made when opened (the page reruns): open them one at a time.
        summaries.nth(i).click()
        expect(buttons).to_have_count(i + 1, timeout=30_000)
    files = []
    for i in range(buttons.count()):
        with scoped.expect_download(timeout=60_000) as download:
            buttons.nth(i).click()
        files.append((download.value.suggested_filename, download.value.path().read_bytes()))
    return files


def _signed_in_cookies(page) -> list[str]:
    return [c["name"] for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]


@pytest.fixture(scope="module")
def scoped_refused(scoped, stack: Stack) -> str:
    """Sam types another prison group's establishment into the address, and is refused.

    A fixture, so that the audit trail holds the refusal whatever order tests run in.
    """
    _open(scoped, stack, "offenders", establishment=stack.label(OUTSIDE))
    assert [w for w in _warnings(scoped) if NO_PLACE in w]
    return OUTSIDE


@pytest.fixture(scope="module")
def scoped_signed_out(scoped, scoped_downloads, scoped_refused, stack: Stack):
    """Sam, after the downloads, signs out (and the browser drops the sign-in cookies)."""
    assert _signed_in_cookies(scoped)
    scoped.get_by_role("button", name="Sign out").click()
    for _ in range(150):  # the app sends the browser to /auth/logout, which clears them
        if not _signed_in_cookies(scoped):
            break
        scoped.wait_for_timeout(100)
    # /auth/logout then sends the browser on to the provider's sign-out page (which may
    # send it back): wait for that trip, so the next address typed is not cut short by it.
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    scoped.wait_for_url(lambda url: not url.startswith(stack.url), timeout=30_000)
    scoped.wait_for_load_state("load")
    try:
        scoped.wait_for_url(lambda url: url.startswith(stack.url), timeout=5_000)
        scoped.wait_for_load_state("load")
    except PlaywrightTimeout:
        pass  # the provider's page stays: nothing more is coming
    return scoped


def test_sign_in_screen_comes_before_anything(browser, stack: Stack) -> None:
    page = _context(browser).new_page()
    try:
        text = _open(page, stack, "offenders")
        page.get_by_role("heading", name=SIGN_IN_HEADING).wait_for(timeout=10_000)
        # Drawn just after the heading: wait for it rather than look once.
        page.get_by_role("button", name="Sign in").wait_for(state="visible", timeout=10_000)
        assert page.locator("[data-testid=stVegaLiteChart]").count() == 0
        assert "Signed in as" not in text
    finally:
        page.context.close()


def test_each_user_signs_in_through_the_provider(national, scoped) -> None:
    for page, person in ((national, NATIONAL), (scoped, SCOPED)):
        # Wait rather than look once: the page may still be drawing after another test.
        page.get_by_text(f"Signed in as {person.name}").wait_for(state="visible", timeout=30_000)
        page.get_by_role("button", name="Sign out").wait_for(state="visible", timeout=30_000)
        assert page.get_by_role("heading", name=SIGN_IN_HEADING).count() == 0
        assert _signed_in_cookies(page)


def test_national_user_chooses_establishments_of_two_regions(national, stack: Stack) -> None:
    _open(national, stack, "offenders")
    inside = stack.establishments[stack.establishments["region"] == REGION]["code"].iloc[0]
    offered = _options(national, "Establishment")
    for code in (OUTSIDE, inside):
        assert stack.label(code) in offered, f"{code} not offered to a national user: {offered}"
    regions = _options(national, "Region (prison group)")
    assert {REGION, stack.establishments.set_index("code").loc[OUTSIDE, "region"]} <= set(regions)
    # Exact figures are marked as such on screen.
    national.get_by_text(EXACT_MARKING).first.wait_for(state="visible", timeout=30_000)


def test_scoped_user_is_offered_only_its_region(scoped, stack: Stack) -> None:
    text = _open(scoped, stack, "offenders")
    mine = stack.establishments[stack.establishments["region"] == REGION]
    offered = _options(scoped, "Establishment")
    assert sorted(offered) == sorted(["All", *(stack.label(c) for c in mine["code"])])
    assert set(_options(scoped, "Region (prison group)")) <= {"All", REGION}
    assert EXACT_MARKING not in text


def test_place_outside_scope_in_the_address_reads_as_no_such_place(scoped, stack: Stack) -> None:
    outside = stack.establishments.set_index("code").loc[OUTSIDE]
    # A place of Sam's own, by the same address form, is taken without a word (control).
    mine = stack.establishments[stack.establishments["region"] == REGION]["code"].iloc[0]
    _open(scoped, stack, "offenders", establishment=stack.label(mine))
    assert not [w for w in _warnings(scoped) if NO_PLACE in w]
    assert scoped.get_by_role(
        "combobox", name="Establishment", exact=True
    ).input_value() == stack.label(mine)

    def refused(value: str) -> tuple[str, str]:
        text = _open(scoped, stack, "offenders", establishment=value)
        said = [w for w in _warnings(scoped) if NO_PLACE in w]
        assert len(said) == 1, f"{value!r}: {_warnings(scoped)}"
        return said[0], text.replace(said[0], "")

    for other, nowhere in [
        (stack.label(OUTSIDE), "HMP Nowhere (ZZZ)"),  # as the filter writes places
        (OUTSIDE, "ZZZ"),  # a bare code
    ]:
        message, rest = refused(other)
        message_nowhere, _ = refused(nowhere)
        # The same words for a place out of scope as for a place that does not exist.
        assert message.replace(other, "VALUE") == message_nowhere.replace(nowhere, "VALUE")
        # Apart from echoing what was typed, the page names neither it nor its group...
        for word in (outside["name"], rf"\b{OUTSIDE}\b", outside["region"]):
            assert not re.search(word, rest), f"{word!r} on the page after ?establishment={other}"
        assert (
            scoped.get_by_role("combobox", name="Establishment", exact=True).input_value() == "All"
        )
    # ...and given only the code, nothing on the page (the message included) names the place.
    assert outside["name"] not in message + rest


def test_scoped_downloads_hold_only_its_region(scoped_downloads, stack: Stack) -> None:
    others = stack.outside_region()
    words = [*others["name"], *others["region"].unique()]
    for name, payload in scoped_downloads:
        assert name.endswith(".csv"), name
        text = payload.decode("utf-8-sig")
        assert len(text.splitlines()) > 3, f"{name} holds no table"
        for word in words:
            assert word not in text, f"{word!r} in {name}"
        for code in others["code"]:
            assert not re.search(rf"\b{code}\b", text), f"{code} in {name}"
        assert EXACT_MARKING not in text, f"{name} is marked exact for a user without exact figures"


def test_unmapped_user_sees_no_access_and_no_figures(unmapped, stack: Stack) -> None:
    _open(unmapped, stack, "offenders")
    # The sign-out button is the last thing this page draws before it stops. The script's
    # state can read "not running" before the run has begun, so wait for the button, then
    # look for what must be absent.
    unmapped.get_by_role("button", name="Sign out").wait_for(state="visible", timeout=60_000)
    _settled(unmapped)
    text = unmapped.inner_text("body")
    assert "you have not been given access" in text
    for test_id in ("stVegaLiteChart", "stDataFrame", "stTable", "stMetric", "stDownloadButton"):
        assert unmapped.locator(f"[data-testid={test_id}]").count() == 0, test_id
    for name in stack.establishments["name"]:
        assert name not in text, name


def test_sign_out_ends_access(scoped_signed_out, stack: Stack) -> None:
    page = scoped_signed_out
    text = _open(page, stack, "offenders")
    page.get_by_role("heading", name=SIGN_IN_HEADING).wait_for(timeout=10_000)
    assert "Signed in as" not in text
    assert page.locator("[data-testid=stVegaLiteChart]").count() == 0
    assert not _signed_in_cookies(page)


def test_audit_trail_records_sign_ins_views_downloads_and_refusals(
    stack: Stack, national, scoped_downloads, scoped_refused, scoped_signed_out, unmapped
) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "equality_core",
            "audit",
            "--data",
            str(stack.data),
            "--format",
            "csv",
        ],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    events = list(csv.DictReader(io.StringIO(out.stdout)))
    by = {
        person: [e for e in events if e["user"] == person.email.lower()]
        for person in (NATIONAL, SCOPED, UNMAPPED)
    }

    def kinds(person: Person) -> set[str]:
        return {e["kind"] for e in by[person]}

    assert {"sign_in", "page_view"} <= kinds(NATIONAL)
    assert {"sign_in", "page_view", "download", "denied", "sign_out"} <= kinds(SCOPED)
    assert {"sign_in", "denied"} <= kinds(UNMAPPED)
    assert "page_view" not in kinds(UNMAPPED)
    # Sam's views of objective 2 carry their filters; the refused address is named.
    assert any(e["kind"] == "page_view" and e["page"] == "offenders" for e in by[SCOPED])
    assert any(
        e["kind"] == "denied" and "establishment" in e["detail"] and OUTSIDE in e["detail"]
        for e in by[SCOPED]
    )
    # Every file Sam took away is in the trail, with the hash of exactly its bytes.
    downloads = {(e["file_name"], e["sha256"]) for e in by[SCOPED] if e["kind"] == "download"}
    for name, payload in scoped_downloads:
        assert (name, hashlib.sha256(payload).hexdigest()) in downloads, name
