"""GraphCRM app served with deep-URL redirects: ``streamlit run serve.py`` (what ``graphcrm demo``
runs). The app itself is app.py; this adds two middlewares in front of Streamlit's server:
graphcrm.app.library answers vis-network's script and stylesheet (two public files, cached by
the browser, so the network drawings do not carry them inlined), and graphcrm.app.deep_urls
makes a pasted deep link such as ``/a/b/c`` lead to the sign-in form instead of a blank page
(docs/app.md)."""

from starlette.middleware import Middleware
from streamlit.starlette import App

from graphcrm.app.deep_urls import DeepUrlRedirect
from graphcrm.app.library import LibraryFiles

app = App("app.py", middleware=[Middleware(LibraryFiles), Middleware(DeepUrlRedirect)])
