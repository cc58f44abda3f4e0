# Package config for `find_package(dora REQUIRED PATHS path/to/dora/cpp NO_DEFAULT_PATH)`:
# adds the dora targets (dora::node_api_c, dora::node_api_cxx, dora::operator_api_cxx) and the
# function dora_add_cxx_operator() to the calling project. See CMakeLists.txt in this folder
# for the options.
if(NOT TARGET dora::node_api_c)
    add_subdirectory("${CMAKE_CURRENT_LIST_DIR}" "${CMAKE_BINARY_DIR}/_dora" EXCLUDE_FROM_ALL)
endif()
set(dora_FOUND TRUE)
