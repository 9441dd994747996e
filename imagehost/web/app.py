"""The Tornado application: its settings and its route table."""

import tornado.web

from .. import ROOT
from ..backups.layout import BACKUP_FILE
from ..context import AppContext
from ..i18n import catalogs
from ..storage import IMAGE_NAME, IMAGE_STEM
from .handlers.account import (
    AccountHandler,
    PasswordHandler,
    PasswordResetHandler,
    ShareXTokenHandler,
    SignInHandler,
    SignOutHandler,
    SignUpHandler,
    TokenDeleteHandler,
    TokensHandler,
)
from .handlers.admin import (
    ImageDeleteHandler,
    ImagesHandler,
    InviteDeleteHandler,
    InvitesHandler,
    LogHandler,
    LoginHandler,
    LogoutHandler,
    PanelHandler,
)
from .handlers.admin_users import (
    USER_ID,
    UserDeleteHandler,
    UserQuotaHandler,
    UserResetHandler,
    UserRoleHandler,
    UsersHandler,
    UserStatusHandler,
)
from .handlers.albums import (
    AlbumDeleteHandler,
    AlbumHandler,
    AlbumImageHandler,
    AlbumLinkHandler,
    AlbumsHandler,
    SelectionHandler,
)
from .handlers.api import (
    ApiImageHandler,
    ApiImagesHandler,
    ApiMeHandler,
    ApiMyImagesHandler,
    ApiNotFoundHandler,
    OpenApiHandler,
)
from .handlers.backup import (
    BackupDeleteHandler,
    BackupFileHandler,
    BackupHandler,
    BackupListHandler,
)
from .handlers.base import NotFoundHandler, log_request
from .handlers.clients import ShareXUploaderHandler
from .handlers.gallery import GalleryHandler, OwnerDeleteHandler
from .handlers.image_page import ImagePageHandler
from .handlers.pages import DeleteByTokenHandler, HealthHandler, LanguageHandler
from .handlers.share import SharePageHandler, ShareZipHandler
from .handlers.upload import UploadHandler
from .openapi import API_PREFIX

NAME = f"({IMAGE_NAME})"
BACKUP = f"({BACKUP_FILE})"
ALBUM = "([A-Za-z0-9_-]{16})"  # album ids and share ids: albums.records.new_id()
SECRET = "[A-Za-z0-9_-]{16,64}"


class ImageHostApp(tornado.web.Application):
    inflight = 0


def make_app(ctx: AppContext, cookie_secret: str, **overrides) -> ImageHostApp:
    catalogs.load()
    deps = {"ctx": ctx}
    routes = [
        (r"/", GalleryHandler, deps),
        (r"/gallery", GalleryHandler, deps),
        (rf"/gallery/{NAME}", OwnerDeleteHandler, deps),
        (r"/upload", UploadHandler, deps),
        (r"/albums", AlbumsHandler, deps),
        (r"/albums/selection", SelectionHandler, deps),
        (rf"/albums/{ALBUM}", AlbumHandler, deps),
        (rf"/albums/{ALBUM}/link", AlbumLinkHandler, deps),
        (rf"/albums/{ALBUM}/delete", AlbumDeleteHandler, deps),
        (rf"/albums/{ALBUM}/images/{NAME}/(move|remove)", AlbumImageHandler, deps),
        (rf"/a/{ALBUM}", SharePageHandler, deps),
        (rf"/a/{ALBUM}/zip", ShareZipHandler, deps),
        (rf"/v/({IMAGE_STEM})", ImagePageHandler, deps),
        (rf"/delete/{NAME}/([A-Za-z0-9_-]{{16,64}})", DeleteByTokenHandler, deps),
        (r"/healthz", HealthHandler, deps),
        (r"/language", LanguageHandler, deps),
        (r"/imagehost\.sxcu", ShareXUploaderHandler, deps),
        (rf"{API_PREFIX}/images", ApiImagesHandler, deps),
        (rf"{API_PREFIX}/images/{NAME}", ApiImageHandler, deps),
        (rf"{API_PREFIX}/me", ApiMeHandler, deps),
        (rf"{API_PREFIX}/me/images", ApiMyImagesHandler, deps),
        (r"/api/openapi\.json", OpenApiHandler, deps),
        (r"/api/.*", ApiNotFoundHandler, deps),
        (r"/signin", SignInHandler, deps),
        (r"/signout", SignOutHandler, deps),
        (r"/signup", SignUpHandler, deps),
        (rf"/invite/({SECRET})", SignUpHandler, deps),
        (rf"/reset/({SECRET})", PasswordResetHandler, deps),
        (r"/account", AccountHandler, deps),
        (r"/account/password", PasswordHandler, deps),
        (r"/account/tokens", TokensHandler, deps),
        (r"/account/tokens/([0-9a-f]{16})/delete", TokenDeleteHandler, deps),
        (r"/account/imagehost\.sxcu", ShareXTokenHandler, deps),
        (r"/admin/login", LoginHandler, deps),
        (r"/admin/logout", LogoutHandler, deps),
        (r"/admin/?", PanelHandler, deps),
        (r"/admin/images", ImagesHandler, deps),
        (rf"/admin/images/{NAME}/delete", ImageDeleteHandler, deps),
        (r"/admin/log", LogHandler, deps),
        (r"/admin/invites", InvitesHandler, deps),
        (r"/admin/invites/([0-9a-f]{64})/delete", InviteDeleteHandler, deps),
        (r"/admin/users", UsersHandler, deps),
        (rf"/admin/users/{USER_ID}/(disable|enable)", UserStatusHandler, deps),
        (rf"/admin/users/{USER_ID}/reset", UserResetHandler, deps),
        (rf"/admin/users/{USER_ID}/role", UserRoleHandler, deps),
        (rf"/admin/users/{USER_ID}/quota", UserQuotaHandler, deps),
        (rf"/admin/users/{USER_ID}/delete", UserDeleteHandler, deps),
        (r"/backup/?", BackupHandler, deps),
        (r"/admin/backups", BackupListHandler, deps),
        (rf"/admin/backups/{BACKUP}", BackupFileHandler, deps),
        (rf"/admin/backups/{BACKUP}/delete", BackupDeleteHandler, deps),
    ]
    settings = dict(
        template_path=str(ROOT / "templates"),
        static_path=str(ROOT / "static"),
        cookie_secret=cookie_secret,
        xsrf_cookies=True,
        xsrf_cookie_kwargs={"httponly": False, "samesite": "Strict"},
        default_handler_class=NotFoundHandler,
        default_handler_args=deps,
        autoescape="xhtml_escape",
        log_function=log_request,
    )
    settings.update(overrides)
    return ImageHostApp(routes, **settings)
