#include "asr/engine.hpp"

#include "asr/command_engine.hpp"
#include "asr/pocketsphinx_engine.hpp"

namespace mediaspool::asr {

std::unique_ptr<engine> make_engine(const engine_config& cfg, std::string& error) {
  if (cfg.kind == "pocketsphinx") {
    auto e = std::make_unique<pocketsphinx_engine>(cfg.model_dir, cfg.options);
    if (!e->ok()) {
      error = e->load_error();
      return nullptr;
    }
    return e;
  }
  if (cfg.kind == "command") {
    if (cfg.command.empty()) {
      error = "asr.engine is \"command\" but asr.command is empty";
      return nullptr;
    }
    return std::make_unique<command_engine>(cfg.command, cfg.temp_dir, cfg.command_timeout);
  }
  error = "unknown asr.engine \"" + cfg.kind + "\" (pocketsphinx or command)";
  return nullptr;
}

} // namespace mediaspool::asr
