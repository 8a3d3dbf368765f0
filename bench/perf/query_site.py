"""Settings for the query-capture comparison (``overhead.py --scenario queries``):
the site's, with ``bench.perf.query_urls`` as the URLconf."""

from aiops_site.settings import *  # noqa: F403 - the site's settings, unchanged

ROOT_URLCONF = "bench.perf.query_urls"
