# Debian's librdkit-dev ships headers and libraries but no CMake package file.
# This module finds them and defines the imported target RDKit::RDKit.
find_path(RDKIT_INCLUDE_DIR GraphMol/ROMol.h PATH_SUFFIXES rdkit)
set(_rdkit_components SmilesParse DistGeomHelpers ForceFieldHelpers ForceField
    FileParsers MolTransforms DistGeometry Alignment EigenSolvers Optimizer
    SubstructMatch Subgraphs GraphMol DataStructs Catalogs RDGeometryLib RDGeneral)
set(RDKIT_LIBRARIES "")
foreach(c ${_rdkit_components})
  find_library(RDKIT_${c}_LIBRARY NAMES RDKit${c})
  if(RDKIT_${c}_LIBRARY)
    list(APPEND RDKIT_LIBRARIES ${RDKIT_${c}_LIBRARY})
  else()
    set(_rdkit_missing TRUE)
  endif()
endforeach()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(RDKitDebian REQUIRED_VARS RDKIT_INCLUDE_DIR RDKIT_LIBRARIES)
if(RDKitDebian_FOUND AND NOT TARGET RDKit::RDKit)
  add_library(RDKit::RDKit INTERFACE IMPORTED)
  set_target_properties(RDKit::RDKit PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${RDKIT_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${RDKIT_LIBRARIES}")
endif()
