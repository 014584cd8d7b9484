"""Every relative link in the README and docs/ names a file that exists,
and a ``#section`` that the file has (GitHub's heading anchors)."""
import glob
import os.path as osp
import re

from conftest import ROOT

LINK = re.compile(r'\]\(([^)\s]+)\)')
HEADING = re.compile(r'#+ (.*)')


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation
    dropped, spaces as hyphens."""
    return re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')


def anchors(path: str) -> set:
    """The anchors of a Markdown file's headings (outside code blocks); a
    repeated heading's get -1, -2, ..."""
    found, seen, in_code = set(), {}, False
    for line in open(path):
        if line.startswith('```'):
            in_code = not in_code
        match = None if in_code else HEADING.match(line)
        if match:
            name = anchor(match.group(1))
            found.add(f'{name}-{seen[name]}' if name in seen else name)
            seen[name] = seen.get(name, 0) + 1
    return found


def test_anchor_follows_github():
    assert anchor("What sets the share, and a prediction (issue 18)") == \
        'what-sets-the-share-and-a-prediction-issue-18'
    assert anchor("The clip: `RecompositionHook` at 10 (commit `f3678cc`)") \
        == 'the-clip-recompositionhook-at-10-commit-f3678cc'


def test_relative_links_resolve():
    pages = [osp.join(ROOT, 'README.md')] + sorted(
        glob.glob(osp.join(ROOT, 'docs', '*.md')))
    broken = []
    for page in pages:
        for target in LINK.findall(open(page).read()):
            if re.match(r'[a-z]+:', target):  # http:, https:, mailto:
                continue
            path, _, section = target.partition('#')
            linked = osp.normpath(osp.join(osp.dirname(page), path)) \
                if path else page
            if not osp.exists(linked):
                broken.append(f'{osp.relpath(page, ROOT)}: {target}')
            elif section and linked.endswith('.md') and \
                    section not in anchors(linked):
                broken.append(f'{osp.relpath(page, ROOT)}: {target} '
                              '(no such section)')
    assert len(pages) > 10
    assert not broken, '\n'.join(broken)
