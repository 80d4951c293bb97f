"""GraphCRM app served with deep-URL redirects: ``streamlit run serve.py`` (what ``graphcrm demo``
runs). The app itself is app.py; this adds graphcrm.app.deep_urls in front of Streamlit's
server, so a pasted deep link such as ``/a/b/c`` leads to the sign-in form instead of a blank
page (docs/app.md)."""

from starlette.middleware import Middleware
from streamlit.starlette import App

from graphcrm.app.deep_urls import DeepUrlRedirect

app = App("app.py", middleware=[Middleware(DeepUrlRedirect)])
