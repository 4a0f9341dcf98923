"""Screenshot of the Upload page's mapping step on a real file, for the README.

Runs ``streamlit run app.py`` (tests/browser_util.running_app), uploads
tests/real_files/sgd_long_system_user.csv (Schema-Guided Dialogue: one message per row,
speakers USER and SYSTEM) in Debian's Chromium, waits until the speaker editor shows, and
writes docs/screenshots/upload_mapping.png.  Not part of the suite: run it by hand after a
change to the Upload page (``python scripts/screenshot_mapping.py``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_util import ARGS, CHROMIUM, running_app, settle  # noqa: E402
from tests.test_e2e_browser import shot  # noqa: E402

REAL_FILE = ROOT / "tests" / "real_files" / "sgd_long_system_user.csv"


def main() -> None:
    """Upload the real file and save the mapping step as the README shows it."""
    from playwright.sync_api import sync_playwright

    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp)) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(f"{app.url}/upload")
        page.get_by_role("heading", name="Upload").first.wait_for()
        page.locator("input[type=file]").set_input_files(str(REAL_FILE))
        page.get_by_text("File loaded.").wait_for()
        settle(page)
        page.get_by_text("takes turns with the user", exact=False).first.wait_for()
        shot(page, out, "upload_mapping")
        browser.close()
    print(out / "upload_mapping.png")


if __name__ == "__main__":
    main()
