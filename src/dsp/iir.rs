//! IIR filter design: Butterworth second-order sections as scipy.signal.butter, RBJ biquads.
