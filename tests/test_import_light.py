import subprocess
import sys

HEAVY = ("pandas", "numpy", "boto3", "botocore", "google.cloud", "azure", "pynvml", "diskcache", "requests")


def test_import_carbon_pulls_in_no_heavy_module():
    code = "import sys, carbon; print('\\n'.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    )
    offenders = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert offenders == []
