#pragma once
// `--config FILE`: options read from a file under those of the command line (README, Command line).

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>
#include <optional>
#include <string>
#include <vector>

namespace keyrevoke::app {

// Reads the config file at path with program_options' config-file parser and stores its options in vm
// after the command line's: an option already given on the command line keeps that value (po::store
// keeps the first value stored; a bool_switch not given is only defaulted and takes the file's).
// The file: one `name = value` per line, long option names without "--", '#' starts a comment,
// switches as `verify = true`. Every long option of command_options may appear except help, version
// and config itself.
// Returns nothing on success, else the usage error (exit 2) naming the file and, where it is a line's
// fault, the line: a line that is not `name = value`, a [section], an unknown option, an option given
// twice, an invalid value, and any line naming the management key (key, management-key, api-key,
// token...): the key comes only from env MODELGATES_MANAGEMENT_KEY or key-file = PATH. No value and
// no line of the file is ever echoed (a pasted key must not reach the terminal); an unknown name is
// shown only if it is short and looks like an option name.
// other_command_options: the long names of the other command's options (`keyrevoke` vs `keyrevoke
// list`); a line naming one of them and none of command_options is skipped, so that one file serves both.
std::optional<std::string> store_config_file(
    const std::string& path, const boost::program_options::options_description& command_options,
    boost::program_options::variables_map& vm, const std::vector<std::string>& other_command_options = {});

}  // namespace keyrevoke::app
