"""The course in a real browser: JupyterLab in headless Chromium runs the notebooks as a learner
would, and the page is checked for what a learner sees.

Every notebook is opened by URL, run from JupyterLab's Run menu and checked: no failing cell
(the notebooks' own checks raise when something is wrong), no "Error displaying widget", every
mermaid block drawn as an SVG, widgets rendered. A screenshot of each is saved under
test-artifacts/.

Chapter 0 is also played with: the scale slider is moved with the keyboard and the pod-delete
button clicked with the pointer, and the cluster (through the official client) and the live
building view in the page must follow. Its last cell deletes the lesson's namespace, so it runs
as "Run All Above Selected Cell" on that clean-up cell, the play, then the clean-up cell: every
cell runs once, in order, through the UI, and the play happens where a learner plays, with the
Deployment, the live view and the slider still alive. (Re-running cells after a full run would
leave the first views stopped and draw a second set of widgets next to them.)
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import urllib.parse
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "notebooks").glob("*.ipynb"))
CHAPTER_0 = "notebooks/00_apartment_complex.ipynb"
README_SCREENSHOT = REPO / "docs" / "chapter0.png"
README_SCREENSHOT_MAX_BYTES = 300_000
NAMESPACE, SELECTOR = "apartment", "app=web"
READY_RGB = (0x52, 0xB7, 0x88)  # the building's colour for a Ready apartment (views.states.STATES)

RUN_TIMEOUT_MS = 150_000  # a whole notebook, floor outage included, on the simulator's fast clock
STEP_TIMEOUT_MS = 30_000  # one kernel start, one click's consequences
VIEWPORT = {"width": 1280, "height": 860}


# driving JupyterLab

def open_notebook(browser, lab, path: str):
    """A fresh page on the notebook, once its kernel is started and idle."""
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(lab.notebook_url(path), timeout=STEP_TIMEOUT_MS * 2)
    page.wait_for_function("""() => {
        const kernel = document.querySelector('.jp-NotebookPanel .jp-KernelName');
        const indicator = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
        return kernel && !/No Kernel/.test(kernel.textContent) && indicator && indicator.dataset.status === 'idle'
            && document.querySelectorAll('.jp-Notebook .jp-Cell').length > 0;
    }""", timeout=STEP_TIMEOUT_MS * 2)
    return page


def run_menu(page, item: str) -> None:
    """Click Run in the menu bar, then `item`: what a learner does."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    label = re.compile(f"^{re.escape(item)}$")  # the item's label, without its shortcut
    page.locator(".lm-Menu .lm-Menu-itemLabel", has_text=label).click()


def select_cell(page, containing: str):
    """Select the code cell whose source contains `containing` (a click on its prompt)."""
    cell = page.locator(".jp-CodeCell", has_text=containing)
    assert cell.count() == 1, f"expected one code cell with {containing!r}, found {cell.count()}"
    cell.locator(".jp-InputPrompt").click()
    return cell


def wait_until_run(page, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Wait until no cell is queued or running ([*]) and the kernel is idle. A failing cell
    cancels the queue, so this also returns early on a failure, which the checks then report."""
    page.wait_for_function("""() => {
        const prompts = Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'), p => p.textContent);
        const indicator = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
        return prompts.some(p => /\\d/.test(p)) && !prompts.some(p => p.includes('*'))
            && indicator.dataset.status === 'idle';
    }""", timeout=timeout_ms)


# what a learner sees

def failures_on(page) -> list[str]:
    """Everything on the page that tells a learner something broke."""
    found = page.evaluate("""() => Array.from(document.querySelectorAll(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'), e => e.innerText)
        .filter(text => /Traceback|Error/.test(text))""")
    if page.get_by_text("Error displaying widget").count():
        found.append("Error displaying widget")
    found += page.evaluate("""() => Array.from(document.querySelectorAll('.jp-RenderedMermaid.jp-mod-warning'),
        e => 'mermaid: ' + e.innerText)""")
    return found


def unrun_cells(page) -> list[str]:
    """The first line of each code cell that has not run (empty prompt)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.jp-CodeCell'))
        .filter(cell => !/\\d/.test(cell.querySelector('.jp-InputPrompt').textContent))
        .map(cell => cell.querySelector('.jp-InputArea-editor').innerText.split('\\n')[0])""")


def mermaid_svgs(page) -> list[str]:
    """The SVG text of every drawn mermaid block (JupyterLab draws them as SVG images)."""
    sources = page.evaluate("""() => Array.from(document.querySelectorAll('.jp-RenderedMermaid'), block => {
        const svg = block.querySelector('svg');
        if (svg) return svg.outerHTML;
        const img = block.querySelector('img');
        return img ? img.getAttribute('src') : '';
    })""")
    svgs = []
    for source in sources:
        if source.startswith("data:image/svg+xml"):
            header, _, data = source.partition(",")
            source = base64.b64decode(data).decode() if header.endswith(";base64") else urllib.parse.unquote(data)
        svgs.append(source)
    return svgs


def mermaid_blocks_in(path: str) -> int:
    notebook = json.loads((REPO / path).read_text())
    return sum("".join(cell["source"]).count("```mermaid") for cell in notebook["cells"]
               if cell["cell_type"] == "markdown")


def check_what_a_learner_sees(page, path: str) -> None:
    assert failures_on(page) == [], f"{path} shows errors in the browser"
    assert unrun_cells(page) == [], f"{path}: cells did not run (a cell above them failed?)"
    svgs = mermaid_svgs(page)
    assert len(svgs) == mermaid_blocks_in(path), f"{path}: not every mermaid block was drawn"
    for svg in svgs:
        assert "<svg" in svg and "Syntax error" not in svg, svg[:300]


def screenshot_whole_notebook(page, path: Path) -> None:
    """The whole notebook in one picture: the window is made as tall as the notebook's cells."""
    measure = """() => {
        const outer = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
        const cells = outer.querySelectorAll('.jp-Cell');
        const top = outer.getBoundingClientRect().top;
        return {top, content: cells[cells.length - 1].getBoundingClientRect().bottom - top + outer.scrollTop};
    }"""
    size = page.evaluate(measure)
    height = min(int(size["top"] + size["content"]) + 40, 16000)  # Chromium draws at most 16384 px
    page.set_viewport_size({"width": VIEWPORT["width"], "height": height + 60})
    page.wait_for_function("""height => {
        const outer = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
        outer.scrollTop = 0;
        return outer.getBoundingClientRect().bottom >= height - 40 && outer.scrollTop === 0;
    }""", arg=height)
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height})
    page.set_viewport_size(VIEWPORT)


# the building view, read from the page

def ready_pixels(png: bytes) -> int:
    """How many pixels of a building picture have the Ready apartments' colour."""
    import matplotlib.image
    import numpy

    rgb = (matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3] * 255).round().astype(int)
    return int(numpy.all(rgb == READY_RGB, axis=-1).sum())


def building_pictures(page) -> list[bytes]:
    """The PNGs the live building views in the page show right now."""
    sources = page.evaluate("""() => Array.from(document.querySelectorAll(
        '.jp-OutputArea-output .widget-output img'), img => img.getAttribute('src'))""")
    return [base64.b64decode(s.partition(",")[2]) for s in sources if s.startswith("data:image/png;base64,")]


def expected_ready_pixels(api) -> int:
    """The same count for the picture the cluster's state right now should give."""
    from kubernetes import client

    from k8s_course.views import draw_building

    core = client.CoreV1Api(api)
    nodes = api.sanitize_for_serialization(core.list_node()).get("items", [])
    pods = api.sanitize_for_serialization(core.list_namespaced_pod(NAMESPACE, label_selector=SELECTOR))["items"]
    buffer = io.BytesIO()
    draw_building(nodes, pods).savefig(buffer, format="png", dpi=80)  # as the live view draws it
    return ready_pixels(buffer.getvalue())


def wait_for_building_view(page, api, timeout_ms: int = STEP_TIMEOUT_MS) -> int:
    """Wait until every live building view in the page shows the cluster's Ready apartments
    (their pixel count matches a picture drawn from the API within 2%); returns that count."""
    import time

    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        expected = expected_ready_pixels(api)
        pictures = building_pictures(page)
        assert pictures, "no building view is drawn in the page"
        shown = [ready_pixels(p) for p in pictures]
        if all(abs(s - expected) <= 0.02 * expected for s in shown):
            return expected
        left_ms = (deadline - time.monotonic()) * 1000
        assert left_ms > 0, f"the building view shows {shown} Ready pixels, the cluster's state gives {expected}"
        current = page.evaluate("""() => Array.from(document.querySelectorAll(
            '.jp-OutputArea-output .widget-output img'), img => img.getAttribute('src')).join()""")
        try:  # the next redraw of a view, or the cluster settling, whichever comes
            page.wait_for_function("""current => Array.from(document.querySelectorAll(
                '.jp-OutputArea-output .widget-output img'), img => img.getAttribute('src')).join() !== current""",
                                   arg=current, timeout=min(left_ms, 2000))
        except Exception as error:  # playwright's TimeoutError: look at the cluster again
            if "Timeout" not in type(error).__name__:
                raise


# the cluster, through the official client

def wait_for_pods(api, condition, description: str, timeout: float = STEP_TIMEOUT_MS / 1000) -> list:
    """Watch the lesson's pods until condition(pods) holds; returns those pods."""
    import time

    from kubernetes import client, watch

    core = client.CoreV1Api(api)
    deadline = time.monotonic() + timeout
    while True:
        pods = core.list_namespaced_pod(NAMESPACE, label_selector=SELECTOR)
        if condition(pods.items):
            return pods.items
        left = deadline - time.monotonic()
        assert left > 0, f"{description}: not within {timeout:.0f} s; pods: {describe(pods.items)}"
        stream = watch.Watch()
        for _event in stream.stream(core.list_namespaced_pod, NAMESPACE, label_selector=SELECTOR,
                                    resource_version=pods.metadata.resource_version,
                                    timeout_seconds=max(int(left), 1)):
            break  # something changed: look again
        stream.stop()


def is_ready(pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def standing_ready(pods) -> list[str]:
    return sorted(p.metadata.name for p in pods if is_ready(p) and not p.metadata.deletion_timestamp)


def describe(pods) -> str:
    return ", ".join(f"{p.metadata.name} ({'Terminating' if p.metadata.deletion_timestamp else p.status.phase}"
                     f"{', Ready' if is_ready(p) else ''})" for p in pods) or "none"


# the tests



@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p != CHAPTER_0])
def test_every_notebook_runs_cleanly_in_jupyterlab(chromium, jupyterlab, artifacts, path):
    page = open_notebook(chromium, jupyterlab, path)
    try:
        run_menu(page, "Run All Cells")
        wait_until_run(page)
        screenshot_whole_notebook(page, artifacts / f"{Path(path).stem}.png")
        check_what_a_learner_sees(page, path)
    finally:
        page.close()


def test_chapter_0_runs_and_its_controls_move_the_cluster_in_jupyterlab(chromium, jupyterlab, artifacts):
    from kubernetes import client

    notebook_before = (REPO / CHAPTER_0).read_bytes()
    api = jupyterlab.api_client()
    page = open_notebook(chromium, jupyterlab, CHAPTER_0)
    try:
        select_cell(page, "cluster.cleanup()")
        run_menu(page, "Run All Above Selected Cell")
        wait_until_run(page)
        failures = failures_on(page)
        assert failures == [], "chapter 0 failed in the browser:\n" + "\n".join(failures)
        assert len(unrun_cells(page)) == 1, f"only the clean-up cell should wait: {unrun_cells(page)}"
        svgs = mermaid_svgs(page)
        assert len(svgs) == 1 and "<svg" in svgs[0] and "API server: the front desk" in svgs[0]
        assert page.locator(".jp-OutputArea-output .widget-slider").count() == 1
        assert page.locator(".jp-OutputArea-output .widget-button", has_text="burn down an apartment").count() == 1
        assert page.locator(".jp-OutputArea-output .widget-toggle-button", has_text="k8s-course-worker2").count() == 1
        assert len(building_pictures(page)) == 2, "the live building view is drawn twice (after the lease, and with the outage)"
        six_ready = wait_for_building_view(page, api)

        # the slider, moved with the keyboard as a learner can: focus its handle, one step right
        handle = page.locator(".jp-OutputArea-output .widget-slider [role=slider]")
        assert handle.get_attribute("aria-valuenow").startswith("6")
        handle.focus()
        page.keyboard.press("ArrowRight")
        slider = page.locator(".jp-OutputArea-output .widget-hbox", has=page.locator(".widget-slider"))
        slider.get_by_text("asked for 7 replicas").wait_for(timeout=STEP_TIMEOUT_MS)
        apps = client.AppsV1Api(api)
        assert apps.read_namespaced_deployment("web", NAMESPACE).spec.replicas == 7
        seven = wait_for_pods(api, lambda pods: len(standing_ready(pods)) == 7, "7 Ready pods after the slider")
        seven_ready = wait_for_building_view(page, api)
        assert seven_ready != six_ready, "the building view should have changed with the 7th apartment"

        # the pod-delete button, clicked with the pointer
        button = page.locator(".jp-OutputArea-output .widget-hbox",
                              has=page.locator(".widget-button", has_text="burn down an apartment"))
        earlier = button.locator(".widget-label").inner_text()
        button.locator(".widget-button").click()
        page.wait_for_function("([label, earlier]) => label.innerText !== earlier",
                               arg=[button.locator(".widget-label").element_handle(), earlier], timeout=STEP_TIMEOUT_MS)
        message = button.locator(".widget-label").inner_text()
        burnt = re.search(r"apartment (\S+) burnt down", message)
        assert burnt, message
        assert burnt.group(1) in standing_ready(seven)
        rebuilt = wait_for_pods(api, lambda pods: len(standing_ready(pods)) == 7 and burnt.group(1) not in
                                {p.metadata.name for p in pods}, f"a replacement for {burnt.group(1)}")
        replacements = set(standing_ready(rebuilt)) - set(standing_ready(seven))
        assert len(replacements) == 1, describe(rebuilt)
        wait_for_building_view(page, api)

        # a picture for the README: the live building and, below it, the slider that grew it
        if page.locator("#jp-left-stack").is_visible():
            page.keyboard.press("Control+b")  # hide the file browser: more room for the notebook
        page.set_viewport_size({"width": VIEWPORT["width"], "height": 1200})
        page.locator(".jp-CodeCell", has_text="view = BuildingView").evaluate("cell => cell.scrollIntoView()")
        page.screenshot(path=str(artifacts / "chapter0-readme.png"))
        page.set_viewport_size(VIEWPORT)
        if not README_SCREENSHOT.exists() or os.environ.get("K8S_COURSE_UPDATE_SCREENSHOTS") == "1":
            README_SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(artifacts / "chapter0-readme.png", README_SCREENSHOT)
        assert (artifacts / "chapter0-readme.png").stat().st_size < README_SCREENSHOT_MAX_BYTES

        # and the clean-up cell, as the last one a learner runs
        cleanup = select_cell(page, "cluster.cleanup()")
        run_menu(page, "Run Selected Cell")
        wait_until_run(page)
        assert "The apartment namespace is gone" in cleanup.locator(".jp-OutputArea").inner_text()
        screenshot_whole_notebook(page, artifacts / f"{Path(CHAPTER_0).stem}.png")
        check_what_a_learner_sees(page, CHAPTER_0)
        names = [ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items]
        assert NAMESPACE not in names
    finally:
        page.close()
        api.close()
    assert (REPO / CHAPTER_0).read_bytes() == notebook_before, "the test must not save into the notebook"
