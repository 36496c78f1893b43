"""Whether a page fits a phone's screen (390 px wide, no sideways scroll): one check for all browser tests."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Page

PHONE = {"width": 390, "height": 844}

# The document's width, and the elements that stick out of the screen unless a box of theirs scrolls or
# clips them. Without the header: a page's own content must fit by itself (the layout's phone menu is
# tested with every page in test_viewports.py).
FIT_JS = """(withHeader) => {
    const width = window.innerWidth, home = document.querySelector('#nav-home');
    const header = !withHeader && home ? home.parentElement.parentElement : null;
    const clipped = el => {
        for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
            if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(up).overflowX)) return true;
        }
        return false;
    };
    const sticking = [...document.body.querySelectorAll('*')]
        .filter(el => !(header && header.contains(el)))
        .filter(el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > width + 1; })
        .filter(el => !clipped(el))
        .slice(0, 5)
        .map(el => `${el.tagName}#${el.id}.${el.className} right=${el.getBoundingClientRect().right}`);
    return {width: document.documentElement.scrollWidth, viewport: width, sticking};
}"""


@dataclass(frozen=True)
class Fit:
    width: int  # the document's scrollWidth
    viewport: int  # window.innerWidth
    sticking: list[str]  # up to five elements past the right edge that nothing of theirs scrolls or clips

    @property
    def fits(self) -> bool:
        """No horizontal page overflow: the document is no wider than the screen."""
        return self.width <= self.viewport


def fit(page: Page, *, header: bool = True) -> Fit:
    found = page.evaluate(FIT_JS, header)
    return Fit(found["width"], found["viewport"], found["sticking"])


def overflowing(page: Page) -> list[str]:
    """What makes the page wider than the screen, besides the header; empty when its content fits."""
    return fit(page, header=False).sticking
