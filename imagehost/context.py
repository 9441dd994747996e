"""What the handlers are given: settings and the services main() built for them."""

from dataclasses import dataclass

from .adminauth import AdminAuth
from .backups.service import BackupService
from .database import ImageRepository
from .settings import Settings
from .storage import Storage
from .uploads import UploadService


@dataclass
class AppContext:
    settings: Settings
    repo: ImageRepository
    storage: Storage
    uploads: UploadService
    admin: AdminAuth
    backups: BackupService
