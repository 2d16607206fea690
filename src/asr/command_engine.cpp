#include "asr/command_engine.hpp"

#include "audio/audio_decoder.hpp"
#include "asr/wav.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace mediaspool::asr {

namespace {

std::string collapse_whitespace(const std::string& s) {
  std::istringstream in{s};
  std::string word, out;
  while (in >> word) {
    if (!out.empty())
      out += ' ';
    out += word;
  }
  return out;
}

// Single-quoted for /bin/sh.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

} // namespace

command_engine::command_engine(std::string command, std::string temp_dir)
  : command_(std::move(command)), temp_dir_(std::move(temp_dir)) {}

recognition command_engine::recognize(const std::vector<int16_t>& pcm) {
  recognition r;
  if (command_.empty()) {
    r.error = "asr.command is empty";
    return r;
  }
  std::string path = temp_dir_ + "/mediaspool-asr-XXXXXX.wav";
  int fd = mkstemps(path.data(), 4);
  if (fd < 0) {
    r.error = "cannot create a temp WAV in " + temp_dir_;
    return r;
  }
  auto wav = wav_bytes(pcm, audio::pcm_rate);
  bool written = ::write(fd, wav.data(), wav.size()) == static_cast<ssize_t>(wav.size());
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    r.error = "cannot write the temp WAV";
    return r;
  }
  std::string cmd = command_;
  if (auto p = cmd.find("{}"); p != std::string::npos)
    cmd.replace(p, 2, shell_quote(path));
  else
    cmd += " " + shell_quote(path);
  std::string out;
  if (FILE* f = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
      out.append(buf, n);
    int status = ::pclose(f);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      r.error = "asr command failed (status " + std::to_string(status) + ")";
  } else {
    r.error = "cannot run the asr command";
  }
  ::unlink(path.c_str());
  if (r.ok())
    r.text = collapse_whitespace(out);
  return r;
}

} // namespace mediaspool::asr
