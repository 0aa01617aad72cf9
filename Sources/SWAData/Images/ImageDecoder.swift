import CSPNG
import CTurboJPEG
import Foundation
import SWAFormats

/// Decodes JPEG and PNG files into RGB as PIL's `Image.open(path).convert("RGB")` does, the
/// loader of torchvision's `ImageFolder`.
///
/// The kind is told by content (JPEG `FF D8 FF`, PNG `89 50 4E 47`), never by the name. JPEG is
/// decoded by libjpeg-turbo (accurate integer DCT and smooth chroma upsampling, PIL's defaults),
/// PNG by libspng. Grayscale becomes three equal channels; alpha is dropped without blending,
/// as PIL drops it; palettes are expanded; 16-bit PNG channels keep their high byte (PIL's
/// rawmode `RGB;16B`); CMYK JPEG converts as PIL's `cmyk2rgb` (docs/DATA.md).
/// One decoder serves one thread at a time (hence `@unchecked Sendable`: it may move between threads).
public final class ImageDecoder: @unchecked Sendable {
    private let jpeg: tjhandle

    /// A decoder with its own libjpeg-turbo handle.
    /// The corresponding C function is `tjInitDecompress`.
    public init() {
        guard let handle = tjInitDecompress() else { fatalError("tjInitDecompress failed: out of memory") }
        jpeg = handle
    }

    deinit { tjDestroy(jpeg) }

    /// Images larger than this many pixels are refused before decoding (PIL's decompression-bomb
    /// limit is about 179 million pixels; this is the same order).
    public static let maximumPixels = 178_956_970

    /// Reads and decodes the image at `path`.
    /// - Throws: naming the file if it cannot be read, is neither JPEG nor PNG, or does not decode.
    public func decode(path: String) throws -> RGBImage {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe))
        } catch {
            throw SWAError(file: path, "cannot read the image: \(error.localizedDescription)")
        }
        return try decode(bytes, path: path)
    }

    /// Decodes an image held in memory; `path` names it in errors.
    public func decode(_ bytes: [UInt8], path: String) throws -> RGBImage {
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF {
            return try decodeJPEG(bytes, path: path)
        }
        if bytes.count >= 8 && bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return try decodePNG(bytes, path: path)
        }
        throw SWAError(file: path, "not a JPEG or PNG image")
    }

    // MARK: - JPEG

    /// The corresponding C functions are `tjDecompressHeader3` and `tjDecompress2`.
    private func decodeJPEG(_ bytes: [UInt8], path: String) throws -> RGBImage {
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(jpeg, bytes, UInt(bytes.count), &width, &height, &subsampling, &colorspace) == 0 else {
            throw SWAError(file: path, "not a decodable JPEG: \(jpegError())")
        }
        try checkSize(width: Int(width), height: Int(height), path: path)
        let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let channels = isCMYK ? 4 : 3
        let format = isCMYK ? TJPF_CMYK : TJPF_RGB
        let byteCount = Int(width) * Int(height) * channels
        var status: Int32 = 0
        // Not zeroed first: libjpeg-turbo writes every byte (and on failure the image is dropped).
        let decoded = [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
            status = tjDecompress2(jpeg, bytes, UInt(bytes.count), buffer.baseAddress, width, 0, height, Int32(format.rawValue), 0)
            initialized = byteCount
        }
        // A warning (a truncated or slightly damaged stream that libjpeg pads) is an error here:
        // PIL refuses truncated images unless told otherwise.
        guard status == 0 else { throw SWAError(file: path, "JPEG does not decode: \(jpegError())") }
        guard isCMYK else { return RGBImage(width: Int(width), height: Int(height), pixels: decoded) }
        return Self.rgb(fromCMYK: decoded, width: Int(width), height: Int(height), inverted: Self.hasAdobeMarker(bytes))
    }

    private func jpegError() -> String { String(cString: tjGetErrorStr2(jpeg)) }

    /// CMYK to RGB as PIL converts: its JPEG reader inverts Adobe CMYK (rawmode `CMYK;I`), then
    /// `cmyk2rgb` computes `(255 − k) − (255 − k)·c/255` per channel in 8-bit integer arithmetic.
    static func rgb(fromCMYK cmyk: [UInt8], width: Int, height: Int, inverted: Bool) -> RGBImage {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for pixel in 0..<width * height {
            let read = { (channel: Int) -> Int in
                let value = Int(cmyk[pixel * 4 + channel])
                return inverted ? 255 - value : value
            }
            let notBlack = 255 - read(3)
            for channel in 0..<3 {
                let product = read(channel) * notBlack + 128
                let scaled = ((product >> 8) + product) >> 8
                rgb[pixel * 3 + channel] = UInt8(clamping: notBlack - scaled)
            }
        }
        return RGBImage(width: width, height: height, pixels: rgb)
    }

    /// Whether the JPEG has an Adobe APP14 segment before its first scan.
    static func hasAdobeMarker(_ bytes: [UInt8]) -> Bool {
        var offset = 2
        while offset + 4 <= bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            if marker == 0xDA || marker == 0xD9 { return false }  // start of scan, end of image
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            if marker == 0xEE, offset + 9 <= bytes.count, bytes[offset + 4..<offset + 9].elementsEqual(Array("Adobe".utf8)) {
                return true
            }
            offset += 2 + length
        }
        return false
    }

    // MARK: - PNG

    /// The corresponding C functions are `spng_get_ihdr`, `spng_decoded_image_size` and `spng_decode_image`.
    private func decodePNG(_ bytes: [UInt8], path: String) throws -> RGBImage {
        guard let context = spng_ctx_new(0) else { fatalError("spng_ctx_new failed: out of memory") }
        defer { spng_ctx_free(context) }
        spng_set_crc_action(context, Int32(SPNG_CRC_ERROR.rawValue), Int32(SPNG_CRC_ERROR.rawValue))
        spng_set_chunk_limits(context, 1 << 26, 1 << 26)
        return try bytes.withUnsafeBytes { buffer in
            func check(_ status: Int32, _ what: String) throws {
                guard status == 0 else { throw SWAError(file: path, "PNG does not decode (\(what)): \(String(cString: spng_strerror(status)))") }
            }
            try check(spng_set_png_buffer(context, buffer.baseAddress, buffer.count), "buffer")
            var header = spng_ihdr()
            try check(spng_get_ihdr(context, &header), "header")
            try checkSize(width: Int(header.width), height: Int(header.height), path: path)
            try Self.checkInflatable(header, fileByteCount: buffer.count, path: path)
            let format = Int32(SPNG_FMT_RGBA8.rawValue)
            var size = 0
            try check(spng_decoded_image_size(context, format, &size), "size")
            var rgba = [UInt8](repeating: 0, count: size)
            try check(spng_decode_image(context, &rgba, size, format, 0), "pixels")
            let pixelCount = Int(header.width) * Int(header.height)
            var rgb = [UInt8](repeating: 0, count: pixelCount * 3)
            for pixel in 0..<pixelCount {
                rgb[pixel * 3] = rgba[pixel * 4]
                rgb[pixel * 3 + 1] = rgba[pixel * 4 + 1]
                rgb[pixel * 3 + 2] = rgba[pixel * 4 + 2]
            }
            return RGBImage(width: Int(header.width), height: Int(header.height), pixels: rgb)
        }
    }

    private func checkSize(width: Int, height: Int, path: String) throws {
        guard width > 0, height > 0 else { throw SWAError(file: path, "image has no pixels (\(width)×\(height))") }
        guard width * height <= Self.maximumPixels else {
            throw SWAError(file: path, "image of \(width)×\(height) pixels exceeds the limit of \(Self.maximumPixels)")
        }
    }
}
