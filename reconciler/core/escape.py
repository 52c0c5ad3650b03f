"""Text from files and servers, made harmless where it is shown.

Names, values and API messages are not reconciler's: a pull request or a server
chose them. On a terminal a control character can move the cursor or recolour
what follows; in a CI log a line starting with ``::`` is a GitHub workflow
command; in markdown a ``|`` breaks a table and ``<`` opens HTML. Each function
here is the one way such text is shown in one medium.
"""

from __future__ import annotations

import html
import re

# Lines a CI runner would take as a command: GitHub's ``::name::`` (after leading
# white space) and the older ``##[name]``.
_COMMAND_LINE = re.compile(r"^([ \t]*)(::|##\[)", re.MULTILINE)


def visible(text: str) -> str:
    """One line of untrusted text with every character that is not printable (control
    characters, line breaks, bidirectional overrides, white space other than a
    plain space) written as a ``\\uXXXX`` escape, so it shows as what it is."""
    return "".join(
        c if c == " " or (c.isprintable() and not c.isspace()) else f"\\u{ord(c):04x}" for c in text
    )


def lines(text: str) -> str:
    """Untrusted text of several lines: each line made ``visible``, line breaks kept."""
    return "\n".join(visible(line) for line in text.split("\n"))


def no_workflow_commands(text: str) -> str:
    """Output for a CI log: a line that would start a workflow command starts with a
    visible escape instead (``\\u003a:set-output``), so no file or server can make
    the runner set a variable, mask a value or stop command processing."""
    return _COMMAND_LINE.sub(
        lambda m: f"{m.group(1)}\\u{ord(m.group(2)[0]):04x}{m.group(2)[1:]}", text
    )


def markdown_code(text: str) -> str:
    """Untrusted text inside a markdown code span: visible, no backtick to close the
    span early, no pipe to break a table row."""
    return visible(text).replace("|", "\\|").replace("`", "\u02cb")


def html_code(text: str) -> str:
    """Untrusted text inside HTML (``<summary><code>...``): visible and HTML-escaped."""
    return html.escape(visible(text), quote=True)


def markdown_text(text: str) -> str:
    """Untrusted prose in markdown (a warning, a reason): visible, with the characters
    that would start HTML, a link or an image, code, emphasis or a table cell escaped."""
    return re.sub(r"([\\`*\[\]<>|])", r"\\\1", visible(text))
