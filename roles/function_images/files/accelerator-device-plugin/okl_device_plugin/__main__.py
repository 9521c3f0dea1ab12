# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
import sys

from okl_device_plugin.server import main

sys.exit(main())
