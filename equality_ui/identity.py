"""Who is looking: sign-in, the user's places and permissions, and the audit trail.

``app.py`` calls :func:`gate` before any page runs. With Streamlit's OpenID Connect
configured (an ``[auth]`` section in ``.streamlit/secrets.toml``) it asks for sign-in,
enforces the session lifetime from the ID token's issue time, finds the user's places
and permissions in the access file (:mod:`equality_core.access`), and stops with a plain
message for a user who has none. Without ``[auth]`` it lets everyone in with national
places and protected figures, but only for the bundled demo data, or where the access
file says ``sign_in = "off"``, and then every page says so.

Every sign-in, sign-out, page view (with its filters), download (with its file's hash)
and refused request goes to the audit trail (:mod:`equality_core.audit`). If the trail
cannot be written, no figures are shown.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from equality_core import access, audit, data
from equality_core.access import Access, AccessConfigError, AccessFile

LOG = logging.getLogger("equality_monitor")

#: The marking every view and download of exact figures carries.
EXACT_MARKING = "OFFICIAL-SENSITIVE: exact figures"

_ACCESS = "_equality_monitor_access"
_SIGNED_IN = "_equality_monitor_signed_in"
_LAST_VIEW = "_equality_monitor_last_view"
_PAGE = "_equality_monitor_page"
_NO_DOWNLOADS = "_equality_monitor_no_downloads_noted"


@dataclass(frozen=True)
class Where:
    """Where a request came from: the session, the page and the filters in the address."""

    session: str | None
    page: str | None
    filters: dict[str, str]


def sign_in_configured() -> bool:
    """True if Streamlit's OpenID Connect sign-in is configured (``[auth]`` in secrets)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return False
    except Exception:  # a malformed secrets file: sign-in cannot be trusted to work
        LOG.exception("could not read the secrets file")
        return False


def _access_file(root: str) -> AccessFile:
    from equality_ui import loading

    path = access.access_file_path(loading.data_paths().root)
    stamp = path.stat().st_mtime_ns if path.exists() else 0
    return _read_access_file(str(path), stamp)


@st.cache_resource(show_spinner=False, max_entries=4)
def _read_access_file(path: str, stamp: int) -> AccessFile:
    from pathlib import Path

    return access.load_access_file(Path(path))


def trail() -> audit.AuditTrail:
    """The audit trail of this data folder (``EQUALITY_MONITOR_AUDIT_URL`` if set)."""
    from equality_ui import loading

    return audit.open_trail(data_root=loading.data_paths().root)


def _session_id() -> str | None:
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def where() -> Where:
    """The session, page and address filters of this run (read now, used later)."""
    try:
        filters = {key: str(value) for key, value in st.query_params.to_dict().items()}
    except Exception:
        filters = {}
    return Where(_session_id(), st.session_state.get(_PAGE), filters)


def record(kind: str, user: Access | str, *, at: Where | None = None, **fields: object) -> None:
    """Write one event to the audit trail; stop the page if it cannot be written."""
    at = at or where()
    name = user.user if isinstance(user, Access) else user
    try:
        trail().record(
            kind,
            user=name,
            session=at.session,
            page=at.page,
            filters=at.filters,
            **fields,
        )
    except Exception:
        LOG.exception("could not write to the audit trail")
        st.error(
            "The audit trail cannot be written, so no figures are shown. Every look at the "
            "data must leave a trace: ask the dashboard's administrator to check the audit "
            "database.",
            icon=":material/error:",
        )
        st.stop()


def record_download(user: Access, at: Where, file_name: str, payload: bytes) -> None:
    """Record a download with its file's SHA-256 (called when the file is built).

    Runs outside the script run, after the click: a failure raises, so the file is not
    served without its trace.
    """
    trail().record(
        "download",
        user=user.user,
        session=at.session,
        page=at.page,
        filters=at.filters,
        file_name=file_name,
        sha256=hashlib.sha256(payload).hexdigest(),
    )


def current() -> Access:
    """The access of this session's user, as :func:`gate` found it.

    Outside a gated run there is no user: nothing is shown rather than everything.
    """
    found = st.session_state.get(_ACCESS)
    if isinstance(found, Access):
        return found
    st.error("This page must be opened through the dashboard.", icon=":material/lock:")
    st.stop()
    raise AssertionError("unreachable")  # pragma: no cover


def set_page(page: object) -> None:
    """Remember the page being shown (its address), for the audit trail."""
    st.session_state[_PAGE] = getattr(page, "url_path", None) or "overview"


def gate(*, demo: bool) -> Access:
    """Decide who is looking and what they may see, or stop with a plain message."""
    from equality_ui import loading

    try:
        config = _access_file(str(loading.data_paths().root))
    except AccessConfigError as error:
        LOG.error("access file: %s", error)
        st.error(
            "The dashboard's access file cannot be used, so no figures are shown. "
            "The administrator can find the reason in the server's log.",
            icon=":material/lock:",
        )
        st.stop()
    if not sign_in_configured():
        return _without_sign_in(config, demo=demo)
    return _signed_in(config)


def _without_sign_in(config: AccessFile, *, demo: bool) -> Access:
    if not demo and config.settings.sign_in != "off":
        st.error(
            "**Sign-in is required for these data.** The dashboard holds personal data about "
            "prisoners, people on probation and staff, and no sign-in is configured. The "
            "administrator configures sign-in (see docs/deploy.md), or, only where the "
            'server cannot be reached by others, sets `sign_in = "off"` in the access file.',
            icon=":material/lock:",
        )
        st.stop()
    user = access.open_access()
    st.session_state[_ACCESS] = user
    if not demo:
        st.warning(
            "**Sign-in is switched off.** Anyone who can reach this server sees every "
            "place's figures, and the audit trail cannot say who they were.",
            icon=":material/lock_open:",
        )
    return user


def _signed_in(config: AccessFile) -> Access:
    if not st.user.is_logged_in:
        st.session_state.pop(_ACCESS, None)
        st.title("Sign in to the Equality Monitor")
        st.markdown(
            "The Equality Monitor holds figures about prisoners, people on probation and "
            "staff. Sign in with your work account to see the places you are responsible for."
        )
        st.button("Sign in", type="primary", on_click=st.login, icon=":material/login:")
        st.stop()
    claims = st.user.to_dict()
    user_name = access.user_key(claims) or "unknown"
    issued = claims.get("iat")
    hours = config.settings.session_hours
    if isinstance(issued, int | float) and time.time() - float(issued) > hours * 3600:
        record("session_expired", user_name, detail=f"signed in over {hours:g} hours ago")
        st.session_state.pop(_ACCESS, None)
        st.session_state.pop(_SIGNED_IN, None)
        st.logout()
        st.stop()
    found = access.access_for(claims, config)
    if st.session_state.get(_SIGNED_IN) != user_name:
        # A sign-in is one identity token: each new browser session with the same cookie
        # (another tab, a reload) is not recorded again.
        if _first_use(user_name, issued):
            record("sign_in", user_name, detail=_issued_words(issued))
        st.session_state[_SIGNED_IN] = user_name
    if found is None:
        st.session_state.pop(_ACCESS, None)
        if st.session_state.get("_equality_monitor_denied") != user_name:
            record("denied", user_name, detail="signed in, but no places in the access file")
            st.session_state["_equality_monitor_denied"] = user_name
        st.title("No access yet")
        st.markdown(
            f"You are signed in as **{_escape(user_name)}**, but you have not been given "
            "access to any places' figures. Ask your Equality Monitor administrator to add "
            "you to the access file, then sign in again."
        )
        _sign_out_button(user_name)
        st.stop()
    st.session_state[_ACCESS] = found
    with st.sidebar:
        st.caption(f"Signed in as {_escape(found.name)}")
        _sign_out_button(found.user)
    return found


_TOKENS_SEEN: dict[tuple[str, object], None] = {}
_TOKENS_LOCK = threading.Lock()


def _first_use(user_name: str, issued: object) -> bool:
    """True the first time this process sees this user's token (by its issue time)."""
    key = (user_name, issued)
    with _TOKENS_LOCK:
        if key in _TOKENS_SEEN:
            return False
        _TOKENS_SEEN[key] = None
        while len(_TOKENS_SEEN) > 10_000:
            _TOKENS_SEEN.pop(next(iter(_TOKENS_SEEN)))
        return True


def _issued_words(issued: object) -> str | None:
    if not isinstance(issued, int | float):
        return None
    when = dt.datetime.fromtimestamp(float(issued), dt.UTC)
    return f"token issued {when:%Y-%m-%d %H:%M} UTC"


def _sign_out(user_name: str) -> None:
    record("sign_out", user_name)
    for key in (_ACCESS, _SIGNED_IN, _LAST_VIEW):
        st.session_state.pop(key, None)
    st.logout()


def _sign_out_button(user_name: str) -> None:
    st.button(
        "Sign out",
        key="sign-out",
        on_click=_sign_out,
        args=(user_name,),
        icon=":material/logout:",
    )


def _escape(text: str) -> str:
    from equality_ui.panels import escape_markdown

    return escape_markdown(text)


def record_page_view(user: Access) -> None:
    """A page view with its filters, once per change of page or address in a session."""
    at = where()
    seen = (at.page, tuple(sorted(at.filters.items())))
    if st.session_state.get(_LAST_VIEW) == seen:
        return
    record("page_view", user, at=at)
    st.session_state[_LAST_VIEW] = seen


def record_refusals(problems: list[tuple[str, str]]) -> None:
    """Address values that were not used: a place outside the user's scope among them."""
    if not problems:
        return
    user = st.session_state.get(_ACCESS)
    if not isinstance(user, Access):
        return
    detail = "; ".join(f"{key}={value!r} not offered" for key, value in problems)
    record("denied", user, detail=detail[:500])


def note_no_downloads() -> None:
    """Once per page: say that downloads are not part of this user's access."""
    ctx = get_script_run_ctx(suppress_warning=True)
    marker = getattr(ctx, "cursors", None)
    if ctx is not None and getattr(ctx, _NO_DOWNLOADS, None) is marker:
        return
    if ctx is not None:
        setattr(ctx, _NO_DOWNLOADS, marker)
    st.caption("Downloads are not part of your access.")


def data_is_demo() -> bool:
    """True if the published data are the synthetic demo."""
    from equality_ui import loading

    return data.is_demo_data(loading.manifest())
