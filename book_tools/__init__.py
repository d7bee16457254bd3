"""Tools for the book's authors, run from a checkout: the exercise generator, the setup-cell
writer, the Sphinx extension of the build, the headless browser that looks at built pages, and
the extraction of the chapters' reusable networks into the helper package.

Readers and students never import this package; it may use the grader's conventions
(:mod:`resnet_grader.conventions`) but never the helper package's training code.
"""
