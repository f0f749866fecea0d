// libpcap (Debian's libpcap-dev), for the tests that read `sim --pcap` files back the way
// tcpdump does. Only test targets use it: the simulator writes pcap files itself.
#include <pcap/pcap.h>
