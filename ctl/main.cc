#include <iostream>

#include "ccmon/ctl/ctl.h"

int main(int argc, char** argv) { return ccmon::ctl::Run(argc, argv, std::cout, std::cerr); }
