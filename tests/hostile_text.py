"""Hostile text for the renderers, and checks that it stayed text.

PAYLOADS are what a channel name, nickname, broadcast title or message may hold (the ingest
API and CHZZK accept any text). html_problems() parses an HTML output with html.parser and
lists what would run or be markup in a browser: an element a renderer does not write (an
<img>, <svg>, <iframe> from the data), an on…= event handler, a javascript: URL, a <script>
whose text was cut short (`</script>` inside the embedded JSON) or holds `<!--` or `<script`
(which change where the browser ends it), and a <script> of the data's own: inside a table,
or calling alert( as every payload that would run does. A renderer's own <script> with its
JSON escaped passes. plotly_markup() lists the strings of a plotly figure (JSON) that still hold
markup plotly.js would render (`<b>`, `<a href>`), leaving out the figure's own templates."""
from __future__ import annotations

import re
from html.parser import HTMLParser

PAYLOADS = (
    "</script><img src=x onerror=alert(1)>",
    "<svg onload=alert(2)>",
    "\"'><b>x</b>",
    "\u2028\u2029",
    "<!--<script>",
    "<a href=\"javascript:alert(3)\">link</a>",
    "</SCRIPT ><script>alert(4)</script>",
    "&lt;img src=x onerror=alert(5)&gt;",
)

# the elements the renderers in use write themselves: Altair's and plotly's HTML (div,
# style, script), polars' and pandas' tables
RENDERER_TAGS = frozenset({"div", "span", "style", "script", "small", "table", "thead", "tbody", "tfoot",
                           "tr", "th", "td", "br", "p", "pre", "code"})
_URL_SCHEME = re.compile(r"^\s*(javascript|vbscript|data)\s*:", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]")  # browsers skip these inside a URL's scheme
_SCRIPT_DATA_STATE = re.compile(r"<!--|<script", re.IGNORECASE)


def _code(js: str) -> tuple[str, str | None]:
    """`js` without its strings and comments, and None if it ends outside any string,
    comment and bracket, else what is left open. Strings ('…', "…", `…` with ${…}), comments
    and brackets only: enough for the renderers' scripts (no regular-expression literals
    holding quotes)."""
    stack: list[str] = []  # open brackets, and "`" for a template literal being read
    code: list[str] = []
    i, n = 0, len(js)
    pairs = {")": "(", "]": "[", "}": "{"}
    while i < n:
        c = js[i]
        if stack and stack[-1] == "`":  # inside a template literal
            if c == "\\":
                i += 2
                continue
            if c == "`":
                stack.pop()
            elif js.startswith("${", i):
                stack.append("${")
                i += 1
            i += 1
            continue
        if c in "\"'":
            j = i + 1
            while j < n and js[j] != c:
                if js[j] == "\n":
                    return "".join(code), f"a string opened at {i} runs past its line"
                j += 2 if js[j] == "\\" else 1
            if j >= n:
                return "".join(code), f"a string opened at {i} is not closed"
            i = j + 1
            continue
        if js.startswith("//", i):
            j = js.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if js.startswith("/*", i):
            j = js.find("*/", i + 2)
            if j < 0:
                return "".join(code), f"a comment opened at {i} is not closed"
            i = j + 2
            continue
        if c == "`":
            stack.append("`")
        elif c in "([{":
            stack.append(c)
        elif c == "}" and stack and stack[-1] == "${":
            stack.pop()
        elif c in pairs:
            if not stack or stack[-1] != pairs[c]:
                return "".join(code), f"an unmatched {c!r} at {i}"
            stack.pop()
        code.append(c)
        i += 1
    return "".join(code), f"{''.join(stack)!r} left open" if stack else None


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)  # text raw: an escaped "&lt;!--" is not a comment
        self.problems: list[str] = []
        self.script: list[str] | None = None
        self.tables = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in RENDERER_TAGS:
            self.problems.append(f"a <{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"an event handler {name}= on <{tag}>")
            if value and _URL_SCHEME.match(_CONTROL.sub("", value)):
                self.problems.append(f"a script URL in {name}= on <{tag}>: {value[:40]!r}")
            if name == "srcdoc":
                self.problems.append(f"srcdoc= on <{tag}>")
        if tag == "table":
            self.tables += 1
        if tag == "script":
            self.script = []
            if self.tables:
                self.problems.append("a <script> inside a table")

    def handle_comment(self, data: str) -> None:
        self.problems.append("an HTML comment (renderers write none)")

    def handle_data(self, data: str) -> None:
        if self.script is not None:
            self.script.append(data)
        elif "<!--" in data:  # a comment left open: what follows it is hidden
            self.problems.append("an HTML comment left open")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.tables = max(0, self.tables - 1)
        if tag == "script" and self.script is not None:
            body, self.script = "".join(self.script), None
            if _SCRIPT_DATA_STATE.search(body):
                self.problems.append("'<!--' or '<script' inside a <script>")
            code, left_open = _code(body)
            if left_open:
                self.problems.append(f"a <script> cut short ({left_open}): its text broke out")
            if "alert(" in code:  # outside its strings: not a renderer's escaped JSON
                self.problems.append("a <script> calling alert(: the data's own")


def html_problems(html: str) -> list[str]:
    """What in `html` would be markup or script in a browser beyond the renderer's own."""
    scan = _Scan()
    scan.feed(html)
    scan.close()
    if scan.script is not None:
        scan.problems.append("a <script> never closed")
    return scan.problems


def plotly_markup(node: object, key: str = "") -> list[str]:
    """The strings of a plotly figure (its JSON as Python values) holding '<' outside the
    figure's own templates (hovertemplate, texttemplate, layout.template): plotly.js renders
    <b>, <br>, <a href> … in titles, legends, ticks, hover text and annotations."""
    if isinstance(node, str):
        return [node] if "<" in node and not key.endswith("template") else []
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in plotly_markup(v, k)]
    if isinstance(node, list | tuple):
        return [s for v in node for s in plotly_markup(v, key)]
    return []
