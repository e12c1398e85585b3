"""A third-party audit sink, installed the way pip installs a distribution: a module and a
``.dist-info`` folder (METADATA, entry_points.txt) in a directory on the path, declaring the
``floe.audit_sinks`` entry point ``folder``. floe is not edited to know it."""

from __future__ import annotations

from pathlib import Path

MODULE = '''
from pathlib import Path


class FolderSink:
    """Event batches as files under a folder (a stand-in for any storage a team has)."""

    name = "folder"

    def __init__(self, root):
        self.root = Path(root)

    def location(self):
        return f"folder:{self.root}"

    def accepts(self, kind):
        return kind == "events"

    def put(self, obj):
        path = self.root / obj.key
        if path.exists() and path.read_bytes() == obj.body:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(obj.body)
        return True


def make_sink(settings, context):
    return FolderSink(settings["path"])
'''


def install_folder_sink(site: Path) -> Path:
    """Install the ``floe-folder-sink`` distribution into ``site``; returns ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "floe_folder_sink.py").write_text(MODULE)
    info = site / "floe_folder_sink-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: floe-folder-sink\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text("[floe.audit_sinks]\n"
                                           "folder = floe_folder_sink:make_sink\n")
    return site
