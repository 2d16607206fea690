// sink: the limit baseline. A minimal WebSocket server that answers the recorder protocol
// (session_init_ack, an ack per metadata+blob pair, session_end_ack) and stores nothing, so a
// load generator run against it shows what the loopback, the WebSocket framing and these cores
// allow. Same transport settings as the server: TCP_NODELAY, no permessage-deflate,
// read_message_max 8 MiB.
//
//   sink [--host 127.0.0.1] [--port 18090] [--threads 1] [--port-file FILE] [--read-slice BYTES]
#include "sink_session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct sink_options {
  std::string host = "127.0.0.1";
  unsigned short port = 18090;
  unsigned threads = 1;
  std::string port_file;
  sink::sink_limits limits;
};

const char* help =
  "sink: a WebSocket server that acks recorder items without storing them (the limit baseline\n"
  "for bench/loadgen). Any path upgrades. Prints totals on SIGINT/SIGTERM.\n\n"
  "  --host ADDR         listen address (default 127.0.0.1)\n"
  "  --port N            listen port, 0 for any (default 18090)\n"
  "  --threads N         I/O threads sharing one io_context, a strand per connection if more than 1 (default 1)\n"
  "  --port-file FILE    write the bound port here once listening\n"
  "  --read-slice BYTES  payload bytes read per step and discarded (default 65536)\n"
  "  --help              this text\n";

bool parse(int argc, char** argv, sink_options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], v;
    if (a == "--help" || a == "-h") {
      std::cout << help;
      std::exit(0);
    }
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (i + 1 < argc) {
      v = argv[++i];
    } else {
      std::cerr << "sink: " << a << " needs a value\n";
      return false;
    }
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = static_cast<unsigned short>(std::stoul(v));
    else if (a == "--threads")
      o.threads = static_cast<unsigned>(std::max(1ul, std::stoul(v)));
    else if (a == "--port-file")
      o.port_file = v;
    else if (a == "--read-slice")
      o.limits.read_slice = std::max<size_t>(4096, std::stoul(v));
    else {
      std::cerr << "sink: unknown option " << a << " (see --help)\n";
      return false;
    }
  }
  return true;
}

class listener {
public:
  listener(asio::io_context& ioc, tcp::endpoint ep, const sink::sink_limits& limits, sink::sink_stats& stats,
           unsigned threads)
    : ioc_(ioc), acceptor_(ioc), limits_(limits), stats_(stats), threads_(threads) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  void accept() {
    // As the server does: one I/O thread needs no strand (mediaspool's net/listener.cpp).
    asio::any_io_executor ex = threads_ <= 1 ? asio::any_io_executor(ioc_.get_executor())
                                             : asio::any_io_executor(asio::make_strand(ioc_));
    acceptor_.async_accept(ex, [this](boost::system::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted)
        return;
      if (!ec)
        sink::start_session(std::move(s), limits_, stats_);
      accept();
    });
  }

private:
  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  const sink::sink_limits& limits_;
  sink::sink_stats& stats_;
  unsigned threads_;
};

} // namespace

int main(int argc, char** argv) {
  sink_options o;
  try {
    if (!parse(argc, argv, o))
      return 2;
  } catch (const std::exception&) {
    std::cerr << "sink: bad number (see --help)\n";
    return 2;
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  asio::io_context ioc{static_cast<int>(o.threads)};
  sink::sink_stats stats;
  std::unique_ptr<listener> lst;
  try {
    lst = std::make_unique<listener>(ioc, tcp::endpoint{asio::ip::make_address(o.host), o.port}, o.limits, stats, o.threads);
  } catch (const std::exception& e) {
    std::cerr << "sink: cannot listen on " << o.host << ":" << o.port << ": " << e.what() << "\n";
    return 1;
  }
  if (!o.port_file.empty()) {
    std::ofstream(o.port_file + ".tmp") << lst->port() << "\n";
    std::rename((o.port_file + ".tmp").c_str(), o.port_file.c_str());
  }
  std::cerr << "sink: listening on " << o.host << ":" << lst->port() << " with " << o.threads << " thread(s)\n";
  lst->accept();

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) { ioc.stop(); });

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < o.threads; ++i)
    threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads)
    t.join();

  std::cerr << "sink: " << stats.connections.load() << " connections, " << stats.items.load() << " items acked, "
            << stats.payload_bytes.load() << " payload bytes, " << stats.errors.load() << " errors\n";
  return 0;
}
