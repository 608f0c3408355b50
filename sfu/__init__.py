"""coshop's media plane: an aiortc SFU that forwards RTP without ever decoding it.

Knows nothing of rooms, shopping or HTTP; ``signaling`` drives it through ``SFU``.
"""

from sfu.config import SFUConfig
from sfu.listener import PeerListener
from sfu.media_room import MediaRoom
from sfu.peer import Peer
from sfu.sfu import SFU
from sfu.slot import Offer, Slot

__all__ = ["SFU", "MediaRoom", "Offer", "Peer", "PeerListener", "SFUConfig", "Slot"]
