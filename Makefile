# The two set-up commands of the README: `make book` and `make test`.
# Each installs everything it needs on a Debian machine with Python 3.11, then does its job.
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PACKAGES := chromium dataset-fashion-mnist bubblewrap slurm-wlm munge
# jupyter-book as installed next to $(PYTHON), whatever PATH says
JUPYTER_BOOK = $(dir $(shell $(PYTHON) -c 'import sys; print(sys.executable)'))jupyter-book

.PHONY: book test install debian-packages clean

debian-packages:  ## Chromium for the browser test; Fashion-MNIST for offline runs; bubblewrap for the grader's sandbox; slurm-wlm and munge for the one-node Slurm cluster of the grading tests
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

install: debian-packages
	$(PYTHON) -m pip install --quiet -r requirements.txt

book: install  ## the HTML book in _build/html (quick profile unless RESNET_BOOK_PROFILE says)
	RESNET_BOOK_STRICT_CLAIMS=1 $(JUPYTER_BOOK) build . -W -n --keep-going

test: install  ## the whole test suite
	$(PYTHON) -m pytest

clean:
	rm -rf _build .cache .pytest_cache
