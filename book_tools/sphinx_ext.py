"""A Sphinx extension for the book's build: drop duplicated inline scripts.

Under Sphinx 7.4, sphinx-thebe's inline configuration script (``const THEBE_JS_URL = ...``)
is written into every page twice, and the second copy throws "Identifier 'THEBE_JS_URL' has
already been declared" in the reader's browser console. A page needs each script once.
"""


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # The two copies differ only in filename (None and ""): both mean "inline".
        filename = getattr(script, "filename", script) or ""
        key = (str(filename), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
