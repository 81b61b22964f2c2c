"""Contact import (vCard, CSV from phones and mail programs) and export (vCard, CSV)."""
