# Shared compile options for every encmol target.
function(encmol_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(ENCMOL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# encmol_add_layer(<name> DEPENDS <targets...>)
# Builds every .cpp in src/encmol/<name>/ into the static library encmol_<name>
# (alias encmol::<name>). Sources are globbed so adding a file needs no edit here.
function(encmol_add_layer name)
  cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT sources)  # a layer that is still header-only
    add_library(encmol_${name} INTERFACE)
    add_library(encmol::${name} ALIAS encmol_${name})
    target_include_directories(encmol_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(encmol_${name} INTERFACE ${ARG_DEPENDS})
    return()
  endif()
  add_library(encmol_${name} STATIC ${sources})
  add_library(encmol::${name} ALIAS encmol_${name})
  target_include_directories(encmol_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(encmol_${name} PUBLIC ${ARG_DEPENDS})
  encmol_target_options(encmol_${name})
endfunction()

# encmol_add_test_suite(<layer> DEPENDS <targets...>)
# Builds every *_test.cpp in tests/<layer>/ into encmol_<layer>_tests and
# registers each GoogleTest case with CTest.
function(encmol_add_test_suite layer)
  cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT sources)
    return()
  endif()
  add_executable(encmol_${layer}_tests ${sources})
  target_link_libraries(encmol_${layer}_tests PRIVATE ${ARG_DEPENDS} GTest::gtest_main)
  target_compile_definitions(encmol_${layer}_tests PRIVATE
    ENCMOL_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    ENCMOL_BINARY_DIR="${PROJECT_BINARY_DIR}")
  encmol_target_options(encmol_${layer}_tests)
  gtest_discover_tests(encmol_${layer}_tests
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS ${layer})
endfunction()
