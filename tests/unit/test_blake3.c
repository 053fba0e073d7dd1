/* test_blake3.c — BLAKE3 against the official test vectors (BLAKE3-team/BLAKE3
 * test_vectors/test_vectors.json) under every SIMD level this CPU supports, incremental and
 * parallel hashing against one-shot hashing, and the bao-tree building blocks against
 * blobs.md §13.2. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/blake3.h"
#include "iroh/error.h"
#include "tests/test.h"

#define XOF_LEN 131

static const char VECTOR_KEY[] = "whats the Elvish word for friend";
static const char VECTOR_CONTEXT[] = "BLAKE3 2019-12-27 16:29:52 test vectors context";

/* Input length and the 131-byte extended outputs of hash, keyed_hash and derive_key, hex. */
static const struct vector {
    size_t len;
    const char *hash, *keyed, *derive;
} VECTORS[] = {
    {0,
     "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262e00f03e7b69af26b7faaf09f"
     "cd333050338ddfe085b8cc869ca98b206c08243a26f5487789e8f660afe6c99ef9e0c52b92e7393024a80459"
     "cf91f476f9ffdbda7001c22e159b402631f277ca96f2defdf1078282314e763699a31c5363165421cce14d",
     "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26b18171a2f22a4b94822c701f"
     "107153dba24918c4bae4d2945c20ece13387627d3b73cbf97b797d5e59948c7ef788f54372df45e45e4293c7"
     "dc18c1d41144a9758be58960856be1eabbe22c2653190de560ca3b2ac4aa692a9210694254c371e851bc8f",
     "2cc39783c223154fea8dfb7c1b1660f2ac2dcbd1c1de8277b0b0dd39b7e50d7d905630c8be290dfcf3e6842f"
     "13bddd573c098c3f17361f1f206b8cad9d088aa4a3f746752c6b0ce6a83b0da81d59649257cdf8eb3e9f7d49"
     "98e41021fac119deefb896224ac99f860011f73609e6e0e4540f93b273e56547dfd3aa1a035ba6689d89a0"},
    {1,
     "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213c3a6cb8bf623e20cdb535f8d"
     "1a5ffb86342d9c0b64aca3bce1d31f60adfa137b358ad4d79f97b47c3d5e79f179df87a3b9776ef8325f8329"
     "886ba42f07fb138bb502f4081cbcec3195c5871e6c23e2cc97d3c69a613eba131e5f1351f3f1da786545e5",
     "6d7878dfff2f485635d39013278ae14f1454b8c0a3a2d34bc1ab38228a80c95b6568c0490609413006fbd428"
     "eb3fd14e7756d90f73a4725fad147f7bf70fd61c4e0cf7074885e92b0e3f125978b4154986d4fb202a3f331a"
     "3fb6cf349a3a70e49990f98fe4289761c8602c4e6ab1138d31d3b62218078b2f3ba9a88e1d08d0dd4cea11",
     "b3e2e340a117a499c6cf2398a19ee0d29cca2bb7404c73063382693bf66cb06c5827b91bf889b6b97c5477f5"
     "35361caefca0b5d8c4746441c57617111933158950670f9aa8a05d791daae10ac683cbef8faf897c84e6114a"
     "59d2173c3f417023a35d6983f2c7dfa57e7fc559ad751dbfb9ffab39c2ef8c4aafebc9ae973a64f0c76551"},
    {1023,
     "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11a182d27a591b05592b156075"
     "00e1e8dd56bc6c7fc063715b7a1d737df5bad3339c56778957d870eb9717b57ea3d9fb68d1b55127bba6a906"
     "a4a24bbd5acb2d123a37b28f9e9a81bbaae360d58f85e5fc9d75f7c370a0cc09b6522d9c8d822f2f28f485",
     "c951ecdf03288d0fcc96ee3413563d8a6d3589547f2c2fb36d9786470f1b9d6e890316d2e6d8b8c25b0a5b21"
     "80f94fb1a158ef508c3cde45e2966bd796a696d3e13efd86259d756387d9becf5c8bf1ce2192b87025152907"
     "b6d8cc33d17826d8b7b9bc97e38c3c85108ef09f013e01c229c20a83d9e8efac5b37470da28575fd755a10",
     "74a16c1c3d44368a86e1ca6df64be6a2f64cce8f09220787450722d85725dea59c413264404661e9e4d95540"
     "9dfe4ad3aa487871bcd454ed12abfe2c2b1eb7757588cf6cb18d2eccad49e018c0d0fec323bec82bf1644c63"
     "25717d13ea712e6840d3e6e730d35553f59eff5377a9c350bcc1556694b924b858f329c44ee64b884ef00d"},
    {1024,
     "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af71cf8107265ecdaf8505b95d8"
     "fcec83a98a6a96ea5109d2c179c47a387ffbb404756f6eeae7883b446b70ebb144527c2075ab8ab204c0086b"
     "b22b7c93d465efc57f8d917f0b385c6df265e77003b85102967486ed57db5c5ca170ba441427ed9afa684e",
     "75c46f6f3d9eb4f55ecaaee480db732e6c2105546f1e675003687c31719c7ba4a78bc838c72852d4f49c864a"
     "cb7adafe2478e824afe51c8919d06168414c265f298a8094b1ad813a9b8614acabac321f24ce61c5a5346eb5"
     "19520d38ecc43e89b5000236df0597243e4d2493fd626730e2ba17ac4d8824d09d1a4a8f57b8227778e2de",
     "7356cd7720d5b66b6d0697eb3177d9f8d73a4a5c5e968896eb6a6896843027066c23b601d3ddfb391e90d5c8"
     "eccdef4ae2a264bce9e612ba15e2bc9d654af1481b2e75dbabe615974f1070bba84d56853265a34330b4766f"
     "8e75edd1f4a1650476c10802f22b64bd3919d246ba20a17558bc51c199efdec67e80a227251808d8ce5bad"},
    {1025,
     "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444f4c4a22b4b399155358a994e"
     "52bf255de60035742ec71bd08ac275a1b51cc6bfe332b0ef84b409108cda080e6269ed4b3e2c3f7d722aa4cd"
     "c98d16deb554e5627be8f955c98e1d5f9565a9194cad0c4285f93700062d9595adb992ae68ff12800ab67a",
     "357dc55de0c7e382c900fd6e320acc04146be01db6a8ce7210b7189bd664ea69362396b77fdc0d2634a55297"
     "0843722066c3c15902ae5097e00ff53f1e116f1cd5352720113a837ab2452cafbde4d54085d9cf5d21ca6130"
     "71551b25d52e69d6c81123872b6f19cd3bc1333edf0c52b94de23ba772cf82636cff4542540a7738d5b930",
     "effaa245f065fbf82ac186839a249707c3bddf6d3fdda22d1b95a3c970379bcb5d31013a167509e9066273ab"
     "6e2123bc835b408b067d88f96addb550d96b6852dad38e320b9d940f86db74d398c770f462118b35d2724efa"
     "13da97194491d96dd37c3c09cbef665953f2ee85ec83d88b88d11547a6f911c8217cca46defa2751e7f3ad"},
    {2048,
     "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a9a60bf80001410ec9eea6698"
     "cd537939fad4749edd484cb541aced55cd9bf54764d063f23f6f1e32e12958ba5cfeb1bf618ad094266d4fc3"
     "c968c2088f677454c288c67ba0dba337b9d91c7e1ba586dc9a5bc2d5e90c14f53a8863ac75655461cea8f9",
     "879cf1fa2ea0e79126cb1063617a05b6ad9d0b696d0d757cf053439f60a99dd10173b961cd574288194b23ec"
     "e278c330fbb8585485e74967f31352a8183aa782b2b22f26cdcadb61eed1a5bc144b8198fbb0c13abbf8e319"
     "2c145d0a5c21633b0ef86054f42809df823389ee40811a5910dcbd1018af31c3b43aa55201ed4edaac74fe",
     "7b2945cb4fef70885cc5d78a87bf6f6207dd901ff239201351ffac04e1088a23e2c11a1ebffcea4d80447867"
     "b61badb1383d842d4e79645d48dd82ccba290769caa7af8eaa1bd78a2a5e6e94fbdab78d9c7b74e894879f6a"
     "515257ccf6f95056f4e25390f24f6b35ffbb74b766202569b1d797f2d4bd9d17524c720107f985f4ddc583"},
    {2049,
     "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b687952256303096de31d71d74103403822a2e"
     "0bc1eb193e7aecc9643a76b7bbc0c9f9c52e8783aae98764ca468962b5c2ec92f0c74eb5448d519713e09413"
     "719431c802f948dd5d90425a4ecdadece9eb178d80f26efccae630734dff63340285adec2aed3b51073ad3",
     "9f29700902f7c86e514ddc4df1e3049f258b2472b6dd5267f61bf13983b78dd5f9a88abfefdfa1e00b418971"
     "f2b39c64ca621e8eb37fceac57fd0c8fc8e117d43b81447be22d5d8186f8f5919ba6bcc6846bd7d50726c06d"
     "245672c2ad4f61702c646499ee1173daa061ffe15bf45a631e2946d616a4c345822f1151284712f76b2b0e",
     "2ea477c5515cc3dd606512ee72bb3e0e758cfae7232826f35fb98ca1bcbdf27316d8e9e79081a80b046b60f6"
     "a263616f33ca464bd78d79fa18200d06c7fc9bffd808cc4755277a7d5e09da0f29ed150f6537ea9bed946227"
     "ff184cc66a72a5f8c1e4bd8b04e81cf40fe6dc4427ad5678311a61f4ffc39d195589bdbc670f63ae70f4b6"},
    {3072,
     "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd29a3f6b0b978d6608335c09dc"
     "94ccf682f9951cdfc501bfe47b9c9189a6fc7b404d120258506341a6d802857322fbd20d3e5dae05b95c8879"
     "3fa83db1cb08e7d8008d1599b6209d78336e24839724c191b2a52a80448306e0daa84a3fdb566661a37e11",
     "044a0e7b172a312dc02a4c9a818c036ffa2776368d7f528268d2e6b5df19177022f302d0529e4174cc507c46"
     "3671217975e81dab02b8fdeb0d7ccc7568dd22574c783a76be215441b32e91b9a904be8ea81f7a0afd14bad8"
     "ee7c8efc305ace5d3dd61b996febe8da4f56ca0919359a7533216e2999fc87ff7d8f176fbecb3d6f34278b",
     "050df97f8c2ead654d9bb3ab8c9178edcd902a32f8495949feadcc1e0480c46b3604131bbd6e3ba573b6dd68"
     "2fa0a63e5b165d39fc43a625d00207607a2bfeb65ff1d29292152e26b298868e3b87be95d6458f6f2ce61184"
     "37b632415abe6ad522874bcd79e4030a5e7bad2efa90a7a7c67e93f0a18fb28369d0a9329ab5c24134ccb0"},
    {3073,
     "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd39a27ae3b79d68d89da9bf25b"
     "c27139ae65a324918a5f9b7828181e52cf373c84f35b639b7fccbb985b6f2fa56aea0c18f531203497b8bbd3"
     "a07ceb5926f1cab74d14bd66486d9a91eba99059a98bd1cd25876b2af5a76c3e9eed554ed72ea952b603bf",
     "68dede9bef00ba89e43f31a6825f4cf433389fedae75c04ee9f0cf16a427c95a96d6da3fe985054d3478865b"
     "e9a092250839a697bbda74e279e8a9e69f0025e4cfddd6cfb434b1cd9543aaf97c635d1b451a4386041e4bb1"
     "00f5e45407cbbc24fa53ea2de3536ccb329e4eb9466ec37093a42cf62b82903c696a93a50b702c80f3c3c5",
     "72613c9ec9ff7e40f8f5c173784c532ad852e827dba2bf85b2ab4b76f7079081576288e552647a9d86481c2c"
     "ae75c2dd4e7c5195fb9ada1ef50e9c5098c249d743929191441301c69e1f48505a4305ec1778450ee48b8e69"
     "dc23a25960fe33070ea549119599760a8a2d28aeca06b8c5e9ba58bc19e11fe57b6ee98aa44b2a8e6b14a5"},
    {4096,
     "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e9690289e9409ddb1b99768eafe1"
     "623da896faf7e1114bebeadc1be30829b6f8af707d85c298f4f0ff4d9438aef948335612ae921e76d411c3a9"
     "111df62d27eaf871959ae0062b5492a0feb98ef3ed4af277f5395172dbe5c311918ea0074ce0036454f620",
     "befc660aea2f1718884cd8deb9902811d332f4fc4a38cf7c7300d597a081bfc0bbb64a36edb564e01e4b4aaf"
     "3b060092a6b838bea44afebd2deb8298fa562b7b597c757b9df4c911c3ca462e2ac89e9a787357aaf74c3b56"
     "d5c07bc93ce899568a3eb17d9250c20f6c5f6c1e792ec9a2dcb715398d5a6ec6d5c54f586a00403a1af1de",
     "1e0d7f3db8c414c97c6307cbda6cd27ac3b030949da8e23be1a1a924ad2f25b9d78038f7b198596c6cc4a9cc"
     "f93223c08722d684f240ff6569075ed81591fd93f9fff1110b3a75bc67e426012e5588959cc5a4c192173a03"
     "c00731cf84544f65a2fb9378989f72e9694a6a394a8a30997c2e67f95a504e631cd2c5f55246024761b245"},
    {4097,
     "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb99505f91b0b5600a11251652eac"
     "fa9497b31cd3c409ce2e45cfe6c0a016967316c426bd26f619eab5d70af9a418b845c608840390f361630bd4"
     "97b1ab44019316357c61dbe091ce72fc16dc340ac3d6e009e050b3adac4b5b2c92e722cffdc46501531956",
     "00df940cd36bb9fa7cbbc3556744e0dbc8191401afe70520ba292ee3ca80abbc606db4976cfdd266ae0abf66"
     "7d9481831ff12e0caa268e7d3e57260c0824115a54ce595ccc897786d9dcbf495599cfd90157186a46ec800a"
     "6763f1c59e36197e9939e900809f7077c102f888caaf864b253bc41eea812656d46742e4ea42769f89b83f",
     "aca51029626b55fda7117b42a7c211f8c6e9ba4fe5b7a8ca922f34299500ead8a897f66a400fed9198fd61dd"
     "2d58d382458e64e100128075fc54b860934e8de2e84170734b06e1d212a117100820dbc48292d148afa50567"
     "b8b84b1ec336ae10d40c8c975a624996e12de31abbe135d9d159375739c333798a80c64ae895e51e22f3ad"},
    {5120,
     "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833acc61c8fdc114a2010ce8038"
     "c853e121e1544985133fccdd0a2d507e8e615e611e9a0ba4f47915f49e53d721816a9198e8b30f12d20ec368"
     "9989175f1bf7a300eee0d9321fad8da232ece6efb8e9fd81b42ad161f6b9550a069e66b11b40487a5f5059",
     "2c493e48e9b9bf31e0553a22b23503c0a3388f035cece68eb438d22fa1943e209b4dc9209cd80ce7c1f7c9a7"
     "44658e7e288465717ae6e56d5463d4f80cdb2ef56495f6a4f5487f69749af0c34c2cdfa857f3056bf8d80733"
     "6a14d7b89bf62bef2fb54f9af6a546f818dc1e98b9e07f8a5834da50fa28fb5874af91bf06020d1bf0120e",
     "7a7acac8a02adcf3038d74cdd1d34527de8a0fcc0ee3399d1262397ce5817f6055d0cefd84d9d57fe792d65a"
     "278fd20384ac6c30fdb340092f1a74a92ace99c482b28f0fc0ef3b923e56ade20c6dba47e49227166251337d"
     "80a037e987ad3a7f728b5ab6dfafd6e2ab1bd583a95d9c895ba9c2422c24ea0f62961f0dca45cad47bfa0d"},
    {5121,
     "628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff96adaab0613a6146cdaabe49"
     "8c3a94e529d3fc1da2bd08edf54ed64d40dcd6777647eac51d8277d70219a9694334a68bc8f0f23e20b0ff70"
     "ada6f844542dfa32cd4204ca1846ef76d811cdb296f65e260227f477aa7aa008bac878f72257484f2b6c95",
     "6ccf1c34753e7a044db80798ecd0782a8f76f33563accaddbfbb2e0ea4b2d0240d07e63f13667a8d1490e5e0"
     "4f13eb617aea16a8c8a5aaed1ef6fbde1b0515e3c81050b361af6ead126032998290b563e3caddeaebfab592"
     "e155f2e161fb7cba939092133f23f9e65245e58ec23457b78a2e8a125588aad6e07d7f11a85b88d375b72d",
     "b07f01e518e702f7ccb44a267e9e112d403a7b3f4883a47ffbed4b48339b3c341a0add0ac032ab5aaea1e4e5"
     "b004707ec5681ae0fcbe3796974c0b1cf31a194740c14519273eedaabec832e8a784b6e7cfc2c5952677e6c3"
     "f2c3914454082d7eb1ce1766ac7d75a4d3001fc89544dd46b5147382240d689bbbaefc359fb6ae30263165"},
    {6144,
     "3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca2054d742022da6fdda444ebc384"
     "b04a54c3ac5839b49da7d39f6d8a9db03deab32aade156c1c0311e9b3435cde0ddba0dce7b26a376cad12129"
     "4b689193508dd63151603c6ddb866ad16c2ee41585d1633a2cea093bea714f4c5d6b903522045b20395c83",
     "3d6b6d21281d0ade5b2b016ae4034c5dec10ca7e475f90f76eac7138e9bc8f1dc35754060091dc5caf3efabe"
     "0603c60f45e415bb3407db67e6beb3d11cf8e4f7907561f05dace0c15807f4b5f389c841eb114d81a82c02a0"
     "0b57206b1d11fa6e803486b048a5ce87105a686dee041207e095323dfe172df73deb8c9532066d88f9da7e",
     "2a95beae63ddce523762355cf4b9c1d8f131465780a391286a5d01abb5683a1597099e3c6488aab6c48f3c15"
     "dbe1942d21dbcdc12115d19a8b8465fb54e9053323a9178e4275647f1a9927f6439e52b7031a0b465c861a3f"
     "c531527f7758b2b888cf2f20582e9e2c593709c0a44f9c6e0f8b963994882ea4168827823eef1f64169fef"},
    {6145,
     "f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f18a2cfdd73c6e39dd75ce7c1"
     "c6e3ef238fd54465f053b25d21044ccb2093beb015015532b108313b5829c3621ce324b8e14229091b7c93f3"
     "2db2e4e63126a377d2a63a3597997d4f1cba59309cb4af240ba70cebff9a23d5e3ff0cdae2cfd54e070022",
     "9ac301e9e39e45e3250a7e3b3df701aa0fb6889fbd80eeecf28dbc6300fbc539f3c184ca2f59780e27a576c1"
     "d1fb9772e99fd17881d02ac7dfd39675aca918453283ed8c3169085ef4a466b91c1649cc341dfdee60e32231"
     "fc34c9c4e0b9a2ba87ca8f372589c744c15fd6f985eec15e98136f25beeb4b13c4e43dc84abcc79cd4646c",
     "379bcc61d0051dd489f686c13de00d5b14c505245103dc040d9e4dd1facab8e5114493d029bdbd295aaa744a"
     "59e31f35c7f52dba9c3642f773dd0b4262a9980a2aef811697e1305d37ba9d8b6d850ef07fe41108993180cf"
     "779aeece363704c76483458603bbeeb693cffbbe5588d1f3535dcad888893e53d977424bb707201569a8d2"},
    {7168,
     "61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a5707c321c83361793b9af62a"
     "40f43b523df1c8633cecb4cd14d00bdc79c78fca5165b863893f6d38b02ff7236c5a9a8ad2dba87d24c547ca"
     "b046c29fc5bc1ed142e1de4763613bb162a5a538e6ef05ed05199d751f9eb58d332791b8d73fb74e4fce95",
     "b42835e40e9d4a7f42ad8cc04f85a963a76e18198377ed84adddeaecacc6f3fca2f01d5277d69bb681c70fa8"
     "d36094f73ec06e452c80d2ff2257ed82e7ba348400989a65ee8daa7094ae0933e3d2210ac6395c4af24f91c2"
     "b590ef87d7788d7066ea3eaebca4c08a4f14b9a27644f99084c3543711b64a070b94f2c9d1d8a90d035d52",
     "11c37a112765370c94a51415d0d651190c288566e295d505defdad895dae223730d5a5175a38841693020669"
     "c7638f40b9bc1f9f39cf98bda7a5b54ae24218a800a2116b34665aa95d846d97ea988bfcb53dd9c055d588fa"
     "21ba78996776ea6c40bc428b53c62b5f3ccf200f647a5aae8067f0ea1976391fcc72af1945100e2a6dcb88"},
    {7169,
     "a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e781798a8b20534be1ca9eb2ae2df"
     "3fae2ea60e48c6fb0b850b1385b5de0fe460dbe9d9f9b0d8db4435da75c601156df9d047f4ede008732eb17a"
     "dc05d96180f8a73548522840779e6062d643b79478a6e8dbce68927f36ebf676ffa7d72d5f68f050b119c8",
     "ed9b1a922c046fdb3d423ae34e143b05ca1bf28b710432857bf738bcedbfa5113c9e28d72fcbfc020814ce3f"
     "5d4fc867f01c8f5b6caf305b3ea8a8ba2da3ab69fabcb438f19ff11f5378ad4484d75c478de425fb8e6ee809"
     "b54eec9bdb184315dc856617c09f5340451bf42fd3270a7b0b6566169f242e533777604c118a6358250f54",
     "554b0a5efea9ef183f2f9b931b7497995d9eb26f5c5c6dad2b97d62fc5ac31d99b20652c016d88ba2a611bbd"
     "761668d5eda3e568e940faae24b0d9991c3bd25a65f770b89fdcadabcb3d1a9c1cb63e69721cacf1ae69fefd"
     "cef1e3ef41bc5312ccc17222199e47a26552c6adc460cf47a72319cb5039369d0060eaea59d6c65130f1dd"},
    {8192,
     "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a635fe51a27db045a567c1ad51b"
     "e5aa34c01c6651c4d9b5b5ac5d0fd58cf18dd61a47778566b797a8c67df7b1d60b97b19288d2d877bb2df417"
     "ace009dcb0241ca1257d62712b6a4043b4ff33f690d849da91ea3bf711ed583cb7b7a7da2839ba71309bbf",
     "dc9637c8845a770b4cbf76b8daec0eebf7dc2eac11498517f08d44c8fc00d58a4834464159dcbc12a0ba0c6d"
     "6eb41bac0ed6585cabfe0aca36a375e6c5480c22afdc40785c170f5a6b8a1107dbee282318d00d915ac9ed11"
     "43ad40765ec120042ee121cd2baa36250c618adaf9e27260fda2f94dea8fb6f08c04f8f10c78292aa46102",
     "ad01d7ae4ad059b0d33baa3c01319dcf8088094d0359e5fd45d6aeaa8b2d0c3d4c9e58958553513b67f84f8e"
     "ac653aeeb02ae1d5672dcecf91cd9985a0e67f4501910ecba25555395427ccc7241d70dc21c190e2aadee875"
     "e5aae6bf1912837e53411dabf7a56cbf8e4fb780432b0d7fe6cec45024a0788cf5874616407757e9e6bef7"},
    {8193,
     "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3bb2282aa69be089359ea1154b"
     "9a9286c4a56af4de975a9aa4a5c497654914d279bea60bb6d2cf7225a2fa0ff5ef56bbe4b149f3ed15860f78"
     "b4e2ad04e158e375c1e0c0b551cd7dfc82f1b155c11b6b3ed51ec9edb30d133653bb5709d1dbd55f4e1ff6",
     "954a2a75420c8d6547e3ba5b98d963e6fa6491addc8c023189cc519821b4a1f5f03228648fd983aef045c2fa"
     "8290934b0866b615f585149587dda2299039965328835a2b18f1d63b7e300fc76ff260b571839fe44876a4ea"
     "e66cbac8c67694411ed7e09df51068a22c6e67d6d3dd2cca8ff12e3275384006c80f4db68023f24eebba57",
     "af1e0346e389b17c23200270a64aa4e1ead98c61695d917de7d5b00491c9b0f12f20a01d6d622edf3de026a4"
     "db4e4526225debb93c1237934d71c7340bb5916158cbdafe9ac3225476b6ab57a12357db3abbad7a26c6e662"
     "90e44034fb08a20a8d0ec264f309994d2810c49cfba6989d7abb095897459f5425adb48aba07c5fb3c83c0"},
    {16384,
     "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde49d764c270176e53e97bdffa5"
     "8d549073f2c660be0e81293767ed4e4929f9ad34bbb39a529334c57c4a381ffd2a6d4bfdbf1482651b172aa8"
     "83cc13408fa67758a3e47503f93f87720a3177325f7823251b85275f64636a8f1d599c2e49722f42e93893",
     "9e9fc4eb7cf081ea7c47d1807790ed211bfec56aa25bb7037784c13c4b707b0df9e601b101e4cf63a404dfe5"
     "0f2e1865bb12edc8fca166579ce0c70dba5a5c0fc960ad6f3772183416a00bd29d4c6e651ea7620bb100c944"
     "9858bf14e1ddc9ecd35725581ca5b9160de04060045993d972571c3e8f71e9d0496bfa744656861b169d65",
     "160e18b5878cd0df1c3af85eb25a0db5344d43a6fbd7a8ef4ed98d0714c3f7e160dc0b1f09caa35f2f417b9e"
     "f309dfe5ebd67f4c9507995a531374d099cf8ae317542e885ec6f589378864d3ea98716b3bbb65ef4ab5e0ab"
     "5bb298a501f19a41ec19af84a5e6b428ecd813b1a47ed91c9657c3fba11c406bc316768b58f6802c9e9b57"},
    {31744,
     "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47860cc51f2b0c28a7b77304bd"
     "55fe73af663c02d3f52ea053ba43431ca5bab7bfea2f5e9d7121770d88f70ae9649ea713087d1914f7f31214"
     "7e247f87eb2d4ffef0ac978bf7b6579d57d533355aa20b8b77b13fd09748728a5cc327a8ec470f4013226f",
     "efa53b389ab67c593dba624d898d0f7353ab99e4ac9d42302ee64cbf9939a4193a7258db2d9cd32a7a3ecfce"
     "46144114b15c2fcb68a618a976bd74515d47be08b628be420b5e830fade7c080e351a076fbc38641ad80c736"
     "c8a18fe3c66ce12f95c61c2462a9770d60d0f77115bbcd3782b593016a4e728d4c06cee4505cb0c08a42ec",
     "39772aef80e0ebe60596361e45b061e8f417429d529171b6764468c22928e28e9759adeb797a3fbf771b1bce"
     "a30150a020e317982bf0d6e7d14dd9f064bc11025c25f31e81bd78a921db0174f03dd481d30e93fd8e90f8b2"
     "fee209f849f2d2a52f31719a490fb0ba7aea1e09814ee912eba111a9fde9d5c274185f7bae8ba85d300a2b"},
    {102400,
     "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085e01c59dab908c04c3342b816"
     "941a26d69c2605ebee5ec5291cc55e15b76146e6745f0601156c3596cb75065a9c57f35585a52e1ac70f6913"
     "1c23d611ce11ee4ab1ec2c009012d236648e77be9295dd0426f29b764d65de58eb7d01dd42248204f45f8e",
     "1c35d1a5811083fd7119f5d5d1ba027b4d01c0c6c49fb6ff2cf75393ea5db4a7f9dbdd3e1d81dcbca3ba241b"
     "b18760f207710b751846faaeb9dff8262710999a59b2aa1aca298a032d94eacfadf1aa192418eb54808db23b"
     "56e34213266aa08499a16b354f018fc4967d05f8b9d2ad87a7278337be9693fc638a3bfdbe314574ee6fc4",
     "4652cff7a3f385a6103b5c260fc1593e13c778dbe608efb092fe7ee69df6e9c6d83a3e041bc3a48df2879f4a"
     "0a3ed40e7c961c73eff740f3117a0504c2dff4786d44fb17f1549eb0ba585e40ec29bf7732f0b7e286ff8acd"
     "dc4cb1e23b87ff5d824a986458dcc6a04ac83969b80637562953df51ed1a7e90a7926924d2763778be8560"},
};
#define N_VECTORS (sizeof VECTORS / sizeof VECTORS[0])

static void from_hex(const char *hex, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned byte;
        sscanf(hex + 2 * i, "%2x", &byte);
        out[i] = (uint8_t)byte;
    }
}

/* The vector input: byte i is i mod 251. */
static uint8_t *vector_input(size_t len)
{
    uint8_t *buf = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i % 251);
    return buf;
}

/* bao-tree's make_test_data: byte i is (i / 1024) mod 256. */
static uint8_t *td(size_t len)
{
    uint8_t *buf = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i / 1024);
    return buf;
}

/* Deterministic pseudo-random bytes (xorshift64). */
static uint8_t *noise(size_t len, uint64_t seed)
{
    uint8_t *buf = malloc(len ? len : 1);
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 32);
    }
    return buf;
}

static int n_isas;
static enum iroh_blake3_isa isas[4];

/* Makes the l-th supported SIMD level the active one; false past the last. Loops read
 * `for (int l = 0; use_isa(l); l++)`. */
static bool use_isa(int l)
{
    if (l >= n_isas) return false;
    iroh_blake3_set_isa(isas[l]);
    return true;
}

static void check_vector(const struct vector *v, enum iroh_blake3_isa isa)
{
    uint8_t *in = vector_input(v->len);
    uint8_t want[XOF_LEN], got[XOF_LEN];
    struct iroh_blake3_hasher h;
    int before = test_failed_checks;

    from_hex(v->hash, want, XOF_LEN);
    iroh_blake3_init(&h);
    iroh_blake3_update(&h, in, v->len);
    iroh_blake3_finalize(&h, got, XOF_LEN);
    CHECK_EQ_MEM(got, want, XOF_LEN);
    iroh_blake3_hash(in, v->len, got);
    CHECK_EQ_MEM(got, want, 32);
    iroh_blake3_subtree_cv(0, in, v->len, true, got);
    CHECK_EQ_MEM(got, want, 32);
    iroh_blake3_hash_parallel(in, v->len, 2, got);
    CHECK_EQ_MEM(got, want, 32);
    for (uint64_t seek = 0; seek < XOF_LEN; seek += 13) {
        size_t n = XOF_LEN - (size_t)seek < 40 ? XOF_LEN - (size_t)seek : 40;
        iroh_blake3_finalize_seek(&h, seek, got, n);
        CHECK_EQ_MEM(got, want + seek, n);
    }

    from_hex(v->keyed, want, XOF_LEN);
    iroh_blake3_init_keyed(&h, (const uint8_t *)VECTOR_KEY);
    iroh_blake3_update(&h, in, v->len);
    iroh_blake3_finalize(&h, got, XOF_LEN);
    CHECK_EQ_MEM(got, want, XOF_LEN);
    iroh_blake3_keyed_hash((const uint8_t *)VECTOR_KEY, in, v->len, got);
    CHECK_EQ_MEM(got, want, 32);

    from_hex(v->derive, want, XOF_LEN);
    iroh_blake3_init_derive_key(&h, VECTOR_CONTEXT);
    iroh_blake3_update(&h, in, v->len);
    iroh_blake3_finalize(&h, got, XOF_LEN);
    CHECK_EQ_MEM(got, want, XOF_LEN);
    iroh_blake3_derive_key(VECTOR_CONTEXT, in, v->len, got, XOF_LEN);
    CHECK_EQ_MEM(got, want, XOF_LEN);

    if (test_failed_checks != before)
        fprintf(stderr, "  vector len %zu, isa %s\n", v->len, iroh_blake3_isa_name(isa));
    free(in);
}

static void test_official_vectors(void)
{
    for (int l = 0; use_isa(l); l++) {
        CHECK_EQ_INT(iroh_blake3_isa_active(), isas[l]);
        for (size_t i = 0; i < N_VECTORS; i++)
            check_vector(&VECTORS[i], isas[l]);
    }
}

static void test_isa_levels(void)
{
    enum iroh_blake3_isa best = iroh_blake3_isa_supported();
    CHECK_EQ_INT(iroh_blake3_set_isa(IROH_BLAKE3_ISA_PORTABLE), IROH_BLAKE3_ISA_PORTABLE);
    CHECK_EQ_INT(iroh_blake3_set_isa(IROH_BLAKE3_ISA_AVX512), best);
    CHECK_EQ_INT(iroh_blake3_isa_active(), best);
    CHECK_EQ_STR(iroh_blake3_isa_name(IROH_BLAKE3_ISA_AVX2), "avx2");
    CHECK_EQ_STR(iroh_blake3_isa_name((enum iroh_blake3_isa)9), "?");
    printf("SIMD levels tested:");
    for (int i = 0; i < n_isas; i++)
        printf(" %s", iroh_blake3_isa_name(isas[i]));
    printf("\n");
}

/* Feeds `in` in pieces whose sizes cycle through `sizes`; returns the 32-byte hash. */
static void hash_in_pieces(const uint8_t *in, size_t len, const size_t *sizes, size_t n_sizes,
                           uint8_t out[32])
{
    struct iroh_blake3_hasher h;
    iroh_blake3_init(&h);
    for (size_t off = 0, k = 0; off < len; k++) {
        size_t take = sizes[k % n_sizes];
        if (take > len - off) take = len - off;
        iroh_blake3_update(&h, in + off, take);
        off += take;
        if (k % 7 == 3) { /* finalizing in between changes nothing */
            uint8_t scratch[32];
            iroh_blake3_finalize(&h, scratch, sizeof scratch);
        }
    }
    iroh_blake3_update(&h, NULL, 0);
    iroh_blake3_finalize(&h, out, 32);
}

static void test_incremental_splits(void)
{
    static const size_t lens[] = {0,     1,     64,     65,     1023,   1024,  1025,
                                  2048,  3073,  16383,  16384,  16385,  31744, 65536,
                                  65537, 99999, 262144, 300001, 1048577};
    static const size_t split_sets[][4] = {
        {1, 1, 1, 1},
        {7, 13, 63, 65},
        {64, 64, 64, 64},
        {1023, 1, 1025, 999},
        {1024, 1024, 1024, 1024},
        {4097, 333, 16384, 5},
        {16384, 16384, 16384, 16384},
        {65536, 1, 131072, 17},
        {100003, 7, 262145, 1024},
    };
    for (int l = 0; use_isa(l); l++) {
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            uint8_t *in = noise(lens[i], lens[i]);
            uint8_t want[32], got[32];
            iroh_blake3_hash(in, lens[i], want);
            for (size_t s = 0; s < sizeof split_sets / sizeof split_sets[0]; s++) {
                if (split_sets[s][0] == 1 && lens[i] > 70000) continue; /* too slow bytewise */
                hash_in_pieces(in, lens[i], split_sets[s], 4, got);
                CHECK_EQ_MEM(got, want, 32);
                if (memcmp(got, want, 32) != 0)
                    fprintf(stderr, "  len %zu split set %zu isa %s\n", lens[i], s,
                            iroh_blake3_isa_name(isas[l]));
            }
            free(in);
        }
    }
}

static void test_parallel_equals_serial(void)
{
    /* Around the 1 MiB threshold, and sizes cut into uneven pieces. */
    static const size_t lens[] = {1048575,           1048576,     1048577,
                                  3 * 1048576 + 517, 8 * 1048576, 12 * 1048576 + 1024};
    static const unsigned threads[] = {0, 1, 2, 3, 4, 7, 64, 1000};
    for (int l = 0; use_isa(l); l++) {
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            uint8_t *in = noise(lens[i], i + 100);
            uint8_t want[32], got[32], want_cv[32];
            iroh_blake3_hash(in, lens[i], want);
            iroh_blake3_subtree_cv(1 << 14, in, lens[i], false, want_cv);
            for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
                iroh_blake3_hash_parallel(in, lens[i], threads[t], got);
                CHECK_EQ_MEM(got, want, 32);
                iroh_blake3_subtree_cv_parallel(1 << 14, in, lens[i], false, threads[t], got);
                CHECK_EQ_MEM(got, want_cv, 32);
            }
            free(in);
        }
    }
}

/* Combines the CVs of the `n` consecutive leaves, each `span` chunks, of the tree over `len`
 * bytes, as the left-balanced tree does: the left side holds the largest power of two number
 * of chunks below the total. */
static void combine(const uint8_t (*cvs)[32], size_t first, size_t chunks, size_t span,
                    bool is_root, uint8_t out[32])
{
    if (chunks <= span) {
        memcpy(out, cvs[first], 32);
        return;
    }
    size_t left = 1;
    while (left * 2 < chunks)
        left *= 2;
    uint8_t l[32], r[32];
    combine(cvs, first, left, span, false, l);
    combine(cvs, first + left / span, chunks - left, span, false, r);
    iroh_blake3_parent_cv(l, r, is_root, out);
}

static void test_subtrees_combine_to_root(void)
{
    static const size_t lens[] = {1025, 2048, 16385, 32768, 49152, 100000, 163840 + 5, 1048576};
    static const size_t spans[] = {1, 2, 16, 64};
    for (int l = 0; use_isa(l); l++) {
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            size_t len = lens[i], chunks = (len + 1023) / 1024;
            uint8_t *in = noise(len, len + 7);
            uint8_t want[32], got[32];
            iroh_blake3_hash(in, len, want);
            uint8_t(*cvs)[32] = malloc(chunks * 32);
            for (size_t s = 0; s < sizeof spans / sizeof spans[0]; s++) {
                size_t span = spans[s], n = 0;
                if (span >= chunks) continue; /* one leaf: it is the root, not a CV */
                for (size_t c = 0; c < chunks; c += span, n++) {
                    size_t off = c * 1024,
                           piece = len - off < span * 1024 ? len - off : span * 1024;
                    if (span == 1)
                        CHECK_EQ_INT(iroh_blake3_chunk_cv(c, in + off, piece, false, cvs[n]), 0);
                    else
                        iroh_blake3_subtree_cv(c, in + off, piece, false, cvs[n]);
                }
                combine((const uint8_t(*)[32])cvs, 0, chunks, span, true, got);
                CHECK_EQ_MEM(got, want, 32);
                if (memcmp(got, want, 32) != 0)
                    fprintf(stderr, "  len %zu span %zu isa %s\n", len, span,
                            iroh_blake3_isa_name(isas[l]));
            }
            free(cvs);
            free(in);
        }
    }
}

static void check_hex(const uint8_t got[32], const char *hex)
{
    uint8_t want[32];
    from_hex(hex, want, 32);
    CHECK_EQ_MEM(got, want, 32);
    if (memcmp(got, want, 32) != 0) fprintf(stderr, "  expected %s\n", hex);
}

/* blobs.md §13.2: the BLAKE3 internals and roots confirmed against iroh 0.35. */
static void test_bao_vectors(void)
{
    static const struct {
        size_t len;
        const char *root;
    } roots[] = {
        {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
        {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
        {1024, "d6fd9de5bccf223f523b316c9cd1cf9a9d87ea42473d68e011dad13f09bf8917"},
        {1025, "39f6832c1137b08fe0c1db6b17001c7a47215b6d5d93908af266baa0a95a4c61"},
        {16384, "652cf60527aadffe64d47bfd4983be8819cd16d06ebbc994e1b19ad510266bfd"},
        {16385, "948bfc97a751aea68d1b27fd96e8b9d7964cc568799db32d1e1ccaacf96d819d"},
        {20480, "0423db104ff27b1c9abf899b32ee7b2800b62b1168c9ee352a1a47610b025285"},
        {32768, "a0ada6b20acd7270322fd23343156143ee195ba58913ed5e91eae2bbf3578ee7"},
        {32769, "cc37332b3cc24e5dc4862113bde6270e29f18279cd91bbbd3956042f2b63111d"},
        {49152, "21a5cd59c993633de45ad3bced5cd38642c83bb6eb40443ee49bb008eaa5e7c9"},
        {100000, "470fe22a67d11dd5db95819c58aee60a5c02d331730adddadd668a1ecb00f6eb"},
        {1048576, "b13c7a03ff2b293ab26abb0cfffdf8b30f3d459b6b24b23c7396e92ae4561bd3"},
    };
    uint8_t *data = td(1048576);
    uint8_t a[32], b[32], c[32];
    for (int l = 0; use_isa(l); l++) {
        for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
            iroh_blake3_hash(data, roots[i].len, a);
            check_hex(a, roots[i].root);
            iroh_blake3_hash_parallel(data, roots[i].len, 2, a);
            check_hex(a, roots[i].root);
        }
        uint8_t s = 0;
        iroh_blake3_hash("hello", 5, a);
        check_hex(a, "ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f");
        iroh_blake3_hash(&s, 0, a);
        check_hex(a, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");

        /* td(2048): chunk CVs and the parent, root and non-root. */
        CHECK_EQ_INT(iroh_blake3_chunk_cv(0, data, 1024, false, a), IROH_OK);
        check_hex(a, "91715ad631c858232d522cc2ff678052288c8c540fc6ab6c5fa5104cb63e0d39");
        CHECK_EQ_INT(iroh_blake3_chunk_cv(1, data + 1024, 1024, false, b), IROH_OK);
        check_hex(b, "e2bd56c8773bc51e127b63d4c55dbe729438da2ef2725d1642a1a21dab2f8fee");
        iroh_blake3_parent_cv(a, b, true, c);
        check_hex(c, "234fb11b2efe6df3f3ad4f3150c46db8785b5b7fa0f028fdb0e6860086c0a2f9");
        iroh_blake3_parent_cv(a, b, false, c);
        check_hex(c, "25e20a6e817b4d11a3089a907c96e48826724a0e77d8c02bbe60aa6f63f8f941");
        iroh_blake3_subtree_cv(0, data, 2048, false, c);
        check_hex(c, "25e20a6e817b4d11a3089a907c96e48826724a0e77d8c02bbe60aa6f63f8f941");
        iroh_blake3_parent_cv(a, b, false, a); /* out may alias an input */
        check_hex(a, "25e20a6e817b4d11a3089a907c96e48826724a0e77d8c02bbe60aa6f63f8f941");
        CHECK_EQ_INT(iroh_blake3_chunk_cv(0, data, 1024, true, a), IROH_OK);
        check_hex(a, "d6fd9de5bccf223f523b316c9cd1cf9a9d87ea42473d68e011dad13f09bf8917");
        CHECK_EQ_INT(iroh_blake3_chunk_cv(0, data, 1025, false, a), IROH_EINVAL);

        /* td(32768): the two chunk-group CVs and the root. */
        iroh_blake3_subtree_cv(0, data, 16384, false, a);
        check_hex(a, "b165ad3c06f85bf90d7a9faca62825da807bb09b0fe684d5c6fedd1c8da18870");
        iroh_blake3_subtree_cv(16, data + 16384, 16384, false, b);
        check_hex(b, "e5eeceb4a877e17c827adb40dd5f8e590f868c143b51e1d2a6a90d56b76b5494");
        iroh_blake3_parent_cv(a, b, true, c);
        check_hex(c, "a0ada6b20acd7270322fd23343156143ee195ba58913ed5e91eae2bbf3578ee7");

        /* td(20480), request [3,4): the parents on the path to chunk 3. */
        iroh_blake3_subtree_cv(16, data + 16384, 4096, false, a);
        check_hex(a, "4bd273deb0fbfdbd9f69c030939ed938a7d09e937087223e69eb95290d2fbde6");
        iroh_blake3_subtree_cv(0, data, 8192, false, a);
        check_hex(a, "39f24582b64386c929856a4adb8bbaaab333e77f74dbeb6e9e415303dc2e4dc9");
        iroh_blake3_subtree_cv(8, data + 8192, 8192, false, a);
        check_hex(a, "cfcde01ea17ed58f7dc7b143615e2dea4dba716b51459d69275c842fdb7a73f8");
        iroh_blake3_subtree_cv(4, data + 4096, 4096, false, a);
        check_hex(a, "304ef0b0685e4764963161e464b0d0754eecc4b458ae928c46fbb7f975b4cc26");
        iroh_blake3_subtree_cv(2, data + 2048, 2048, false, a);
        check_hex(a, "133d7f1c9302546373f1c570644b41ce47818e5de3c223f4f44d35fa7c36c8a9");
        iroh_blake3_subtree_cv(3, data + 3072, 1024, false, a);
        check_hex(a, "b14073a2ce0fae7e6421558f657a81afb4e7f46633c38603d4eb0da3dca89799");

        /* td(100000), last chunk: the right edge, partial chunk 97 of 672 bytes. */
        iroh_blake3_subtree_cv(0, data, 65536, false, a);
        check_hex(a, "db016b523b51d3e6594bb49076d4000b03f4bdae99e45389fa31d3e2826c7576");
        iroh_blake3_subtree_cv(64, data + 65536, 100000 - 65536, false, a);
        check_hex(a, "ff0ec4515710080835473b1f895bb4d761e72244d3cf1eef2d071e54006a9102");
        iroh_blake3_subtree_cv_parallel(64, data + 65536, 100000 - 65536, false, 4, a);
        check_hex(a, "ff0ec4515710080835473b1f895bb4d761e72244d3cf1eef2d071e54006a9102");
        iroh_blake3_subtree_cv(64, data + 65536, 32768, false, a);
        check_hex(a, "c5edf8ab6324b143e8c4b08845ac9bfc66ce912678bc88d708722f9bfe8ebaea");
        iroh_blake3_subtree_cv(96, data + 98304, 100000 - 98304, false, a);
        check_hex(a, "85012ec8aace1e2ddda58e03bced5cef6e9e82a8bbe5d9fc9efaa0b906a85e11");
        CHECK_EQ_INT(iroh_blake3_chunk_cv(97, data + 99328, 672, false, a), IROH_OK);
        check_hex(a, "2e9867a4d128f23787e8d2f189fb44b296e2761aff13c0a10df7c0ef86cef838");
    }
    free(data);
}

int main(void)
{
    /* The levels to test: every one up to what this CPU supports. */
    for (int i = 0; i <= (int)iroh_blake3_isa_supported(); i++)
        isas[n_isas++] = (enum iroh_blake3_isa)i;
    RUN(test_isa_levels);
    RUN(test_official_vectors);
    RUN(test_incremental_splits);
    RUN(test_parallel_equals_serial);
    RUN(test_subtrees_combine_to_root);
    RUN(test_bao_vectors);
    return TEST_SUMMARY();
}
