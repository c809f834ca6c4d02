"""Training and packaging: architectures and their layers, fitting, the landmark head, backbone detectors,
export to ONNX, importing older Keras models, and the servable model folder."""
