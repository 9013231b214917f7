#!/bin/sh
# Debian packages needed to REBUILD the demo world (data/demo/make-demo.py).
# Using the shipped demo needs none of them.  Run as root.
set -e
apt-get install -y --no-install-recommends \
    bible-kjv bible-kjv-text \
    dict-gcide dict-jargon dict-foldoc dict-elements \
    fortunes fortunes-min \
    python3 python3-numpy python3-regex python3-torch
